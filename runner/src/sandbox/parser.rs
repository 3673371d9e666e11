//! A log parser session: one core instance and one `parser` resource per
//! k6 step, so that steps never share parser state and a trap in one step's
//! parsing cannot touch another's.

use wasmtime::component::ResourceAny;

use super::{CoreInstance, Sandbox, SandboxError};
use crate::contract::{
    LineEvent, LiveMetrics, NumberedEvent, OutputStream, ParseError, ScriptSummary,
};

/// Pairs each of `count` lines with its event from `numbered` (what
/// [`ParserSession::feed`] returned for them): a line without an entry is
/// [`LineEvent::Text`]. Entries out of order or past the batch, which the
/// core never gives, are not used.
pub fn events_per_line(
    count: usize,
    numbered: Vec<NumberedEvent>,
) -> impl Iterator<Item = LineEvent> {
    let mut numbered = numbered.into_iter().peekable();
    (0..count).map(move |index| {
        numbered
            .next_if(|entry| usize::try_from(entry.line) == Ok(index))
            .map_or(LineEvent::Text, |entry| entry.event)
    })
}

/// The parser of one step's output.
pub struct ParserSession {
    sandbox: Sandbox,
    instance: CoreInstance,
    parser: ResourceAny,
}

impl ParserSession {
    /// A fresh instance holding a fresh parser.
    pub fn new(sandbox: &Sandbox) -> Result<Self, SandboxError> {
        let mut instance = sandbox.instantiate()?;
        let parser = instance.new_parser()?;
        Ok(Self {
            sandbox: sandbox.clone(),
            instance,
            parser,
        })
    }

    /// Feeds a batch of lines (without their endings) from one stream and
    /// returns the events of the lines that are not plain text, with their
    /// positions in `lines` (see [`events_per_line`]). The lines cross into
    /// the sandbox as one string, each ended by `\n`: one copy per batch
    /// instead of an allocation per line. The lines come from a reader that
    /// split on `\n`, so none holds one.
    pub fn feed(
        &mut self,
        source: OutputStream,
        lines: &[String],
    ) -> Result<Vec<NumberedEvent>, SandboxError> {
        let mut batch = String::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
        for line in lines {
            batch.push_str(line);
            batch.push('\n');
        }
        let result = self.instance.parser_feed(self.parser, source, &batch);
        self.recover(result)
    }

    /// Feeds a `--summary-export` document.
    pub fn feed_summary_export(
        &mut self,
        json: &str,
    ) -> Result<Result<(), ParseError>, SandboxError> {
        let result = self.instance.parser_feed_summary_export(self.parser, json);
        self.recover(result)
    }

    /// Feeds a `/v1/metrics` body read `at_ms` after the step started.
    pub fn feed_metrics(
        &mut self,
        json: &str,
        at_ms: u64,
    ) -> Result<Result<LiveMetrics, ParseError>, SandboxError> {
        let result = self.instance.parser_feed_metrics(self.parser, json, at_ms);
        self.recover(result)
    }

    /// The step's summary so far.
    pub fn summary(&mut self) -> Result<ScriptSummary, SandboxError> {
        let result = self.instance.parser_summary(self.parser);
        self.recover(result)
    }

    /// After a failed call the instance is unusable: start over with a new
    /// instance and parser (what was parsed so far is lost, the step goes on).
    fn recover<R>(&mut self, result: Result<R, SandboxError>) -> Result<R, SandboxError> {
        if self.instance.is_poisoned() {
            match Self::new(&self.sandbox) {
                Ok(fresh) => *self = fresh,
                Err(error) => {
                    tracing::error!(%error, "cannot rebuild the log parser after a failure")
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(line: u32) -> NumberedEvent {
        NumberedEvent {
            line,
            event: LineEvent::SummaryLine,
        }
    }

    /// `'s'` for a summary line, `'t'` for text, `'?'` for anything else.
    fn kinds(events: impl Iterator<Item = LineEvent>) -> String {
        events
            .map(|event| match event {
                LineEvent::SummaryLine => 's',
                LineEvent::Text => 't',
                _ => '?',
            })
            .collect()
    }

    /// Lines without an entry are text; each entry lands on its line.
    #[test]
    fn entries_land_on_their_lines() {
        assert_eq!(
            kinds(events_per_line(4, vec![numbered(1), numbered(3)])),
            "tsts"
        );
    }

    /// An entry past the batch is not used, and there is still one event
    /// per line.
    #[test]
    fn entries_past_the_batch_are_not_used() {
        assert_eq!(kinds(events_per_line(2, vec![numbered(7)])), "tt");
    }
}
