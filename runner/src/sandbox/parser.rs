//! A log parser session: one core instance and one `parser` resource per
//! k6 step, so that steps never share parser state and a trap in one step's
//! parsing cannot touch another's.

use wasmtime::component::ResourceAny;

use super::{CoreInstance, Sandbox, SandboxError};
use crate::contract::{
    LineEvent, LiveMetrics, NumberedEvent, OutputStream, ParseError, ScriptSummary,
};

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
    /// returns one event per line. The lines cross into the sandbox as one
    /// string, each ended by `\n`: one copy per batch instead of an
    /// allocation per line; only the events of lines that are not plain
    /// text cross back. The lines come from a reader that split on `\n`, so
    /// none holds one.
    pub fn feed(
        &mut self,
        source: OutputStream,
        lines: &[String],
    ) -> Result<Vec<LineEvent>, SandboxError> {
        let mut batch = String::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
        for line in lines {
            batch.push_str(line);
            batch.push('\n');
        }
        let result = self.instance.parser_feed(self.parser, source, &batch);
        let numbered = self.recover(result)?;
        let mut events = vec![LineEvent::Text; lines.len()];
        // A position past the batch would be the core's bug; it is dropped.
        for NumberedEvent { line, event } in numbered {
            if let Some(slot) = usize::try_from(line).ok().and_then(|i| events.get_mut(i)) {
                *slot = event;
            }
        }
        Ok(events)
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
