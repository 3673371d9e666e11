//! What `/proc` says about a process the harness started (the processes
//! themselves are `testkit::process::ProcessGroup`s).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Polls `parent`'s children every `period` until one has `marker` in its
/// environment (so it has exec'd: before `execve` a fork still has its
/// parent's environment); returns when, its pid and the marker's value, or
/// `None` after `limit`.
pub fn wait_marked_child(
    parent: u32,
    marker: &str,
    period: Duration,
    limit: Duration,
) -> Option<(Instant, u32, String)> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        for child in children(parent) {
            if let Some(value) = environ_value(child, marker) {
                return Some((Instant::now(), child, value));
            }
        }
        std::thread::sleep(period);
    }
    None
}

/// Samples `pid`'s CPU time every `period` until it has exited (or `limit`
/// passed) and returns the last sample, in seconds. An exited child keeps
/// its final CPU time in `/proc` until its parent reaps it, so the last
/// sample misses at most one period.
pub fn watch_cpu(pid: u32, period: Duration, limit: Duration) -> Option<f64> {
    let deadline = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < deadline {
        match cpu_seconds(pid) {
            Some(cpu) => last = Some(cpu),
            None => break,
        }
        if !alive(pid) {
            break;
        }
        std::thread::sleep(period);
    }
    last
}

/// Resident set size of `pid`, bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system) `pid` has used so far, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    // utime and stime: fields 14 and 15 of the line.
    stat_seconds(&format!("/proc/{pid}/stat"), 14)
}

/// CPU time (user + system) of this process's children that it has
/// waited for, in seconds.
pub fn reaped_children_cpu_seconds() -> Option<f64> {
    // cutime and cstime: fields 16 and 17 of the line.
    stat_seconds("/proc/self/stat", 16)
}

/// The sum of fields `first` and `first + 1` (counted from 1, as in
/// proc(5)) of a `stat` file, in seconds.
fn stat_seconds(path: &str, first: usize) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start after the last ')', at field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks =
        fields.get(first - 3)?.parse::<u64>().ok()? + fields.get(first - 2)?.parse::<u64>().ok()?;
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100);
    Some(ticks as f64 / per_second as f64)
}

/// CPU time the calling thread has run so far, in seconds
/// (`CLOCK_THREAD_CPUTIME_ID`, nanosecond resolution). Other processes on a
/// shared machine take the CPU away from a benchmark, which stretches its
/// wall time but not its CPU time.
pub fn thread_cpu_seconds() -> Option<f64> {
    use nix::time::{ClockId, clock_gettime};
    let now = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(now.tv_sec() as f64 + now.tv_nsec() as f64 / 1e9)
}

/// True while `pid` exists and is not a zombie (a zombie has exited; only
/// its parent has not reaped it yet).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .next()?
                .to_owned();
            Some(state != "Z" && state != "X")
        })
        .unwrap_or(false)
}

/// Direct children of `pid` (all its threads'), from
/// `/proc/<pid>/task/*/children`: far cheaper than scanning every process,
/// so it can be polled every millisecond.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// The value of `name` in `pid`'s environment. Before `execve` a forked
/// child still has its parent's environment, so this tells an exec'd k6
/// from the runner's fork.
pub fn environ_value(pid: u32, name: &str) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ.split(|&b| b == 0).find_map(|entry| {
        let entry = std::str::from_utf8(entry).ok()?;
        let (key, value) = entry.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// The machine's 1-minute load average, from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| {
            let fields: Vec<&str> = text.split_whitespace().take(3).collect();
            (fields.len() == 3).then(|| fields.join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a free port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let me = std::process::id();
        assert!(rss_bytes(me).is_some_and(|rss| rss > 0));
        assert!(cpu_seconds(me).is_some());
        assert!(reaped_children_cpu_seconds().is_some());
        assert!(thread_cpu_seconds().is_some_and(|cpu| cpu > 0.0));
        assert!(alive(me));
        assert_eq!(environ_value(me, "K6_BENCH_NO_SUCH_VARIABLE"), None);
    }
}
