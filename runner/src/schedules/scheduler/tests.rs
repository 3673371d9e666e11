//! The scheduler's rules on a paused tokio clock, against a fake runner
//! whose runs last a set time.

use std::sync::Mutex;

use tokio::time::Instant;

use super::*;

/// Wall-clock time that moves with tokio's (paused) clock from `wall`,
/// plus `set`: the clock set forward (NTP, a machine woken up).
struct Anchored {
    wall: DateTime<Utc>,
    start: Instant,
    set: Arc<Mutex<chrono::Duration>>,
}

impl Clock for Anchored {
    fn now(&self) -> DateTime<Utc> {
        self.wall
            + chrono::Duration::from_std(self.start.elapsed()).unwrap()
            + *self.set.lock().unwrap()
    }
}

/// A runner whose runs last `run_length`, whose starts take `start_delay`
/// and fail with `fail` when set.
#[derive(Default)]
struct Fake {
    schedules: Mutex<Vec<Schedule>>,
    run_length: Duration,
    start_delay: Duration,
    fail: Option<String>,
    running_until: Mutex<Option<(String, Instant)>>,
    starts: Mutex<u32>,
    fires: Mutex<Vec<NewFire>>,
}

impl Port for Arc<Fake> {
    async fn schedules(&self) -> Option<Result<Vec<Schedule>, HistoryError>> {
        Some(Ok(self.schedules.lock().unwrap().clone()))
    }

    async fn start(&self, _schedule: u64) -> Option<Attempt> {
        tokio::time::sleep(self.start_delay).await;
        if let Some(reason) = &self.fail {
            return Some(Attempt::Failed {
                reason: reason.clone(),
            });
        }
        let mut running = self.running_until.lock().unwrap();
        if let Some((run_id, until)) = &*running
            && Instant::now() < *until
        {
            return Some(Attempt::Busy {
                run_id: run_id.clone(),
            });
        }
        let mut starts = self.starts.lock().unwrap();
        *starts += 1;
        let run_id = format!("run-{starts}");
        *running = Some((run_id.clone(), Instant::now() + self.run_length));
        Some(Attempt::Started { run_id })
    }

    async fn record(&self, fire: NewFire) {
        self.fires.lock().unwrap().push(fire);
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn schedule(id: u64, cron: &str, timezone: &str, enabled: bool) -> Schedule {
    Schedule {
        id,
        name: None,
        cron: cron.into(),
        timezone: timezone.into(),
        enabled,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// Starts the scheduler at wall-clock time `wall`.
fn start(fake: &Arc<Fake>, wall: &str) -> (Arc<Signals>, tokio::task::JoinHandle<()>) {
    let (signals, task, _) = start_settable(fake, wall);
    (signals, task)
}

/// [`start`], and a handle to set its wall clock forward.
fn start_settable(
    fake: &Arc<Fake>,
    wall: &str,
) -> (
    Arc<Signals>,
    tokio::task::JoinHandle<()>,
    Arc<Mutex<chrono::Duration>>,
) {
    let signals = Arc::new(Signals::default());
    let set = Arc::new(Mutex::new(chrono::Duration::zero()));
    let clock = Anchored {
        wall: at(wall),
        start: Instant::now(),
        set: set.clone(),
    };
    let task = tokio::spawn(run(fake.clone(), clock, signals.clone()));
    (signals, task, set)
}

/// `(due_at, outcome, run_id, reason)` of every fire so far.
fn fires(fake: &Fake) -> Vec<(String, FireOutcome, Option<String>, Option<String>)> {
    fake.fires
        .lock()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f.due_at.clone(),
                f.outcome,
                f.run_id.clone(),
                f.reason.clone(),
            )
        })
        .collect()
}

async fn stop(signals: &Signals, task: tokio::task::JoinHandle<()>) {
    signals.stop();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn fires_on_time_and_skips_while_a_run_is_in_progress() {
    let fake = Arc::new(Fake {
        schedules: Mutex::new(vec![schedule(1, "*/10 * * * * *", "UTC", true)]),
        run_length: Duration::from_secs(15),
        ..Fake::default()
    });
    let (signals, task) = start(&fake, "2026-12-04T12:00:01Z");
    tokio::time::sleep(Duration::from_secs(35)).await;
    let started = FireOutcome::Started;
    assert_eq!(
        fires(&fake),
        [
            (
                "2026-12-04T12:00:10Z".into(),
                started,
                Some("run-1".into()),
                None
            ),
            (
                "2026-12-04T12:00:20Z".into(),
                FireOutcome::Skipped,
                None,
                Some("a run is in progress (run run-1)".into())
            ),
            // run-1 ended at 12:00:25; the skipped fire was not queued
            // for then: the next run is the next fire's.
            (
                "2026-12-04T12:00:30Z".into(),
                started,
                Some("run-2".into()),
                None
            ),
        ]
    );
    stop(&signals, task).await;
}

#[tokio::test(start_paused = true)]
async fn missed_fires_are_not_replayed_after_downtime_nor_after_a_slow_start() {
    // Every minute since long before this runner started: nothing from
    // before 12:00:30 fires.
    let fake = Arc::new(Fake {
        schedules: Mutex::new(vec![schedule(1, "* * * * *", "UTC", true)]),
        start_delay: Duration::from_secs(150),
        ..Fake::default()
    });
    let (signals, task) = start(&fake, "2026-12-04T12:00:30Z");
    // The 12:01 start takes until 12:03:30: 12:02 and 12:03 are dropped,
    // not fired at once after it; the next fire is 12:04's.
    tokio::time::sleep(Duration::from_secs(7 * 60)).await;
    let due: Vec<String> = fires(&fake).into_iter().map(|f| f.0).collect();
    assert_eq!(due, ["2026-12-04T12:01:00Z", "2026-12-04T12:04:00Z"]);
    let fired_at: Vec<String> = fake
        .fires
        .lock()
        .unwrap()
        .iter()
        .map(|f| f.fired_at.clone())
        .collect();
    assert_eq!(fired_at, ["2026-12-04T12:03:30Z", "2026-12-04T12:06:30Z"]);
    stop(&signals, task).await;
}

#[tokio::test(start_paused = true)]
async fn a_wall_clock_set_forward_moves_a_fire_by_at_most_a_minute() {
    let fake = Arc::new(Fake {
        schedules: Mutex::new(vec![schedule(1, "0 9 * * *", "UTC", true)]),
        ..Fake::default()
    });
    let (signals, task, set) = start_settable(&fake, "2026-12-04T08:00:00Z");
    // Half an hour in, the wall clock jumps 20 minutes ahead: 09:00 is
    // now 10 minutes away, not 30.
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    *set.lock().unwrap() = chrono::Duration::minutes(20);
    tokio::time::sleep(Duration::from_secs(12 * 60)).await;
    let fires = fake.fires.lock().unwrap().clone();
    assert_eq!(fires.len(), 1, "{fires:?}");
    assert_eq!(fires[0].due_at, "2026-12-04T09:00:00Z");
    let late = at(&fires[0].fired_at) - at("2026-12-04T09:00:00Z");
    assert!(
        late <= chrono::Duration::from_std(MAX_SLEEP).unwrap(),
        "{late}"
    );
    stop(&signals, task).await;
}

#[tokio::test(start_paused = true)]
async fn a_disabled_schedule_never_fires_and_a_change_wakes_the_scheduler() {
    let fake = Arc::new(Fake {
        schedules: Mutex::new(vec![schedule(1, "* * * * * *", "UTC", false)]),
        ..Fake::default()
    });
    let (signals, task) = start(&fake, "2026-12-04T12:00:00.500Z");
    tokio::time::sleep(Duration::from_secs(86_400)).await;
    assert_eq!(fires(&fake), []);
    assert_eq!(*fake.starts.lock().unwrap(), 0);
    // Enabled (as the API does it: stored, then the scheduler told).
    fake.schedules.lock().unwrap()[0].enabled = true;
    signals.changed();
    tokio::time::sleep(Duration::from_millis(1_250)).await;
    let due: Vec<String> = fires(&fake).into_iter().map(|f| f.0).collect();
    assert_eq!(due, ["2026-12-05T12:00:01Z"]);
    stop(&signals, task).await;
}

#[tokio::test(start_paused = true)]
async fn the_pattern_is_read_in_the_schedules_time_zone() {
    // 09:00 in Berlin: 08:00 UTC in winter time, 07:00 from 28 March 2027
    // (summer time).
    let fake = Arc::new(Fake {
        schedules: Mutex::new(vec![
            schedule(1, "0 9 * * *", "Europe/Berlin", true),
            schedule(2, "0 9 * * *", "UTC", true),
        ]),
        ..Fake::default()
    });
    let (signals, task) = start(&fake, "2027-03-26T12:00:00Z");
    tokio::time::sleep(Duration::from_secs(2 * 86_400)).await;
    let fired: Vec<(String, FireOutcome)> = fires(&fake).into_iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(
        fired,
        [
            ("2027-03-27T08:00:00Z".into(), FireOutcome::Started),
            ("2027-03-27T09:00:00Z".into(), FireOutcome::Started),
            ("2027-03-28T07:00:00Z".into(), FireOutcome::Started),
            ("2027-03-28T09:00:00Z".into(), FireOutcome::Started),
        ]
    );
    stop(&signals, task).await;
}

#[tokio::test(start_paused = true)]
async fn schedules_due_together_fire_in_id_order_and_the_second_is_skipped() {
    let fake = Arc::new(Fake {
        schedules: Mutex::new(vec![
            schedule(7, "0 * * * *", "UTC", true),
            schedule(3, "0 * * * *", "UTC", true),
        ]),
        run_length: Duration::from_secs(60),
        ..Fake::default()
    });
    let (signals, task) = start(&fake, "2026-12-04T12:30:00Z");
    tokio::time::sleep(Duration::from_secs(45 * 60)).await;
    let ids: Vec<(u64, FireOutcome)> = fake
        .fires
        .lock()
        .unwrap()
        .iter()
        .map(|f| (f.schedule, f.outcome))
        .collect();
    assert_eq!(ids, [(3, FireOutcome::Started), (7, FireOutcome::Skipped)]);
    stop(&signals, task).await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_is_recorded_with_its_reason() {
    let fake = Arc::new(Fake {
        schedules: Mutex::new(vec![schedule(1, "*/5 * * * * *", "UTC", true)]),
        fail: Some("k6 is not usable".into()),
        ..Fake::default()
    });
    let (signals, task) = start(&fake, "2026-12-04T12:00:01Z");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        fires(&fake),
        [(
            "2026-12-04T12:00:05Z".into(),
            FireOutcome::Failed,
            None,
            Some("k6 is not usable".into())
        )]
    );
    stop(&signals, task).await;
}

#[test]
fn next_due_takes_the_earliest_enabled_schedule() {
    let schedules = [
        schedule(1, "0 10 * * *", "UTC", true),
        schedule(2, "0 9 * * *", "UTC", false),
        schedule(3, "0 11 * * *", "UTC", true),
        schedule(4, "0 10 * * *", "UTC", true),
        schedule(5, "0 0 30 2 *", "UTC", true),
    ];
    assert_eq!(
        next_due(&schedules, at("2026-12-04T08:00:00Z")),
        Some((at("2026-12-04T10:00:00Z"), vec![1, 4]))
    );
    assert_eq!(next_due(&schedules[4..], at("2026-12-04T08:00:00Z")), None);
}
