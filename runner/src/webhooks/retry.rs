//! Retrying a delivery: at most [`MAX_ATTEMPTS`], [`backoff`] apart, each
//! under [`REQUEST_TIMEOUT`]. A 2xx answer is a delivery; a 4xx other
//! than 408 (timeout) and 429 (too many requests) is the receiver
//! refusing this event, and asking again would not change its mind.

use std::future::Future;
use std::time::Duration;

/// Most attempts per delivery (the first and four retries).
pub const MAX_ATTEMPTS: u32 = 5;
/// Longest wait for one attempt's answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait after failed attempt `attempt` (from 1): 1 s, 2 s, 4 s, 8 s.
/// A delivery gives up after about 15 s of waiting (plus its attempts).
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.saturating_sub(1).min(6))
}

/// What one attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// An HTTP status.
    Status(u16),
    /// No answer: why (connection refused, timeout).
    Error(String),
}

impl Answer {
    fn delivered(&self) -> bool {
        matches!(self, Self::Status(200..=299))
    }

    fn worth_retrying(&self) -> bool {
        match self {
            Self::Status(408 | 429) | Self::Error(_) => true,
            Self::Status(code) => !(400..500).contains(code) && !self.delivered(),
        }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    /// Attempts made.
    pub(crate) attempts: u32,
    /// The last attempt's answer.
    pub(crate) last: Answer,
    /// Whether it was delivered.
    pub(crate) delivered: bool,
}

/// Runs `attempt` until it delivers, is refused, or [`MAX_ATTEMPTS`] are
/// made, waiting [`backoff`] between; `seen` is told of each answer (for
/// the delivery log, while the delivery goes on).
pub(crate) async fn with_retries<F, Fut>(
    mut attempt: F,
    mut seen: impl FnMut(u32, &Answer),
) -> Ended
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Answer>,
{
    let mut attempts = 0;
    loop {
        attempts += 1;
        let answer = attempt().await;
        seen(attempts, &answer);
        let delivered = answer.delivered();
        if delivered || !answer.worth_retrying() || attempts >= MAX_ATTEMPTS {
            return Ended {
                attempts,
                last: answer,
                delivered,
            };
        }
        tokio::time::sleep(backoff(attempts)).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio::time::Instant;

    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second() {
        let waits: Vec<u64> = (1..MAX_ATTEMPTS).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8]);
    }

    /// Runs `with_retries` on the paused clock against answers in turn
    /// (the last one repeated), returning the result and the seconds
    /// since the start at which each attempt was made.
    async fn run(answers: Vec<Answer>) -> (Ended, Vec<u64>) {
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(Mutex::new(0usize));
        let ended = with_retries(
            || {
                let (times, calls, answers) = (times.clone(), calls.clone(), answers.clone());
                async move {
                    times.lock().unwrap().push(start.elapsed().as_secs());
                    let mut calls = calls.lock().unwrap();
                    let answer = answers[(*calls).min(answers.len() - 1)].clone();
                    *calls += 1;
                    answer
                }
            },
            |_, _| {},
        )
        .await;
        let times = times.lock().unwrap().clone();
        (ended, times)
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_receiver_is_tried_five_times_with_growing_waits() {
        let (ended, times) = run(vec![Answer::Status(500)]).await;
        assert_eq!(times, [0, 1, 3, 7, 15]);
        assert_eq!(ended.attempts, MAX_ATTEMPTS);
        assert!(!ended.delivered);
        assert_eq!(ended.last, Answer::Status(500));
    }

    #[tokio::test(start_paused = true)]
    async fn two_errors_then_success_is_delivered_on_the_third_attempt() {
        let (ended, times) = run(vec![
            Answer::Status(500),
            Answer::Error("connection refused".into()),
            Answer::Status(204),
        ])
        .await;
        assert_eq!(times, [0, 1, 3]);
        assert_eq!(ended.attempts, 3);
        assert!(ended.delivered);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_is_not_retried_but_408_and_429_are() {
        let (ended, times) = run(vec![Answer::Status(404)]).await;
        assert_eq!(
            (ended.attempts, ended.delivered, times),
            (1, false, vec![0])
        );
        for code in [408, 429] {
            let (ended, _) = run(vec![Answer::Status(code), Answer::Status(200)]).await;
            assert_eq!((ended.attempts, ended.delivered), (2, true), "{code}");
        }
    }
}
