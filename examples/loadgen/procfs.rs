//! What the kernel says a process used: CPU time and resident memory, from
//! `/proc`. Linux only, as the benchmarks are.

use std::{io, time::Duration};

/// One reading of a process's counters.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User and system time of all its threads, since it started.
    pub cpu: Duration,
    /// Resident memory now.
    pub rss_bytes: u64,
}

/// Reads `pid`'s counters (`"self"` for this process).
pub fn usage(pid: &str) -> io::Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: count fields from
    // after it. utime and stime are fields 14 and 15, in clock ticks.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> io::Result<u64> {
        fields
            .get(index)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: no field {index}")))
    };
    let ticks = ticks(11)? + ticks(12)?;
    let cpu = Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second());
    Ok(Usage {
        cpu,
        rss_bytes: rss_bytes(pid)?,
    })
}

/// `VmRSS` from `/proc/<pid>/status`.
pub fn rss_bytes(pid: &str) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other(format!("/proc/{pid}/status has no VmRSS")))
}

/// Busy and total time of all CPUs, from `/proc/stat`, in clock ticks.
pub fn machine_ticks() -> io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat
        .lines()
        .find(|l| l.starts_with("cpu "))
        .ok_or_else(|| io::Error::other("/proc/stat has no cpu line"))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    // idle and iowait
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

fn clock_ticks_per_second() -> f64 {
    unsafe extern "C" {
        fn sysconf(name: i32) -> i64;
    }
    const SC_CLK_TCK: i32 = 2;
    // SAFETY: sysconf reads a constant of the system; any name is safe to ask.
    let ticks = unsafe { sysconf(SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Raises this process's open-file limit to its hard limit, so that ten
/// thousand connections fit; children (the service) inherit it.
pub fn raise_open_file_limit() -> io::Result<u64> {
    #[repr(C)]
    struct Rlimit {
        current: u64,
        max: u64,
    }
    unsafe extern "C" {
        fn getrlimit(resource: i32, limit: *mut Rlimit) -> i32;
        fn setrlimit(resource: i32, limit: *const Rlimit) -> i32;
    }
    const RLIMIT_NOFILE: i32 = 7;
    let mut limit = Rlimit { current: 0, max: 0 };
    // SAFETY: both calls get a pointer to a live, properly laid out rlimit.
    unsafe {
        if getrlimit(RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        limit.current = limit.max;
        if setrlimit(RLIMIT_NOFILE, &limit) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.current)
}
