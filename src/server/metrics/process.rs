//! The server process as `/proc/self` describes it: start time, CPU, memory, descriptors —
//! what MinIO reports as `minio_node_process_*` and `minio_node_file_descriptor_*`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Linux reports process times in `/proc` in USER_HZ, which the kernel fixes at 100 for
/// userspace on every architecture.
const USER_HZ: f64 = 100.0;

#[derive(Debug, Default, PartialEq)]
pub struct Process {
    /// Seconds since the Unix epoch.
    pub start_time: f64,
    pub uptime: f64,
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub open_fds: u64,
    pub fd_limit: Option<u64>,
}

/// Reads this process's figures; `None` where `/proc` is missing (not Linux, or hidden).
pub fn read() -> Option<Process> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot = boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let fields = stat_fields(&stat)?;
    let start_time = boot + fields.start_ticks as f64 / USER_HZ;
    Some(Process {
        start_time,
        uptime: (now - start_time).max(0.0),
        cpu_seconds: (fields.utime + fields.stime) as f64 / USER_HZ,
        resident_bytes: status_kib(&status, "VmRSS").unwrap_or(0) * 1024,
        virtual_bytes: fields.vsize,
        open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64),
        fd_limit: open_files_limit(&limits),
    })
}

struct StatFields {
    utime: u64,
    stime: u64,
    start_ticks: u64,
    vsize: u64,
}

/// The fields of `/proc/self/stat` after the command name (which may hold spaces and
/// parentheses, so the split is after its last `)`).
fn stat_fields(stat: &str) -> Option<StatFields> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // proc(5) numbers fields from 1 with the pid; `rest` starts at field 3 (state).
    let field = |n: usize| f.get(n - 3)?.parse::<u64>().ok();
    Some(StatFields {
        utime: field(14)?,
        stime: field(15)?,
        start_ticks: field(22)?,
        vsize: field(23)?,
    })
}

fn boot_time(proc_stat: &str) -> Option<f64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 \
                    12345 987654321 2048 18446744073709551615";
        let f = stat_fields(stat).unwrap();
        assert_eq!(
            (f.utime, f.stime, f.start_ticks, f.vsize),
            (250, 50, 12345, 987654321)
        );
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000.0)
        );
        assert_eq!(
            status_kib("Name:\tx\nVmRSS:\t  1234 kB\n", "VmRSS"),
            Some(1234)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(open_files_limit(limits), Some(1024));
    }

    #[test]
    fn this_process_is_read() {
        let p = read().expect("Linux /proc");
        assert!(p.start_time > 1_600_000_000.0 && p.resident_bytes > 0 && p.open_fds > 0);
    }
}
