//! CPU time and resident memory of a process, read from `/proc` (Linux only).
//!
//! CPU is `utime + stime` from `/proc/<pid>/stat` in clock ticks; the tick rate comes from the
//! `AT_CLKTCK` entry of `/proc/self/auxv` (what `sysconf(_SC_CLK_TCK)` returns), so no libc call
//! is needed.

use std::time::Instant;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProcSample {
    pub(crate) at: Instant,
    /// User + system CPU time in seconds.
    pub(crate) cpu_seconds: f64,
    pub(crate) rss_kib: u64,
}

/// Which process to read, and the tick rate to convert its counters.
#[derive(Debug, Clone)]
pub(crate) struct ProcReader {
    stat_path: String,
    status_path: String,
    ticks_per_second: f64,
}

impl ProcReader {
    pub(crate) fn for_pid(pid: u32) -> ProcReader {
        Self::for_dir(format!("/proc/{pid}"))
    }

    pub(crate) fn for_self() -> ProcReader {
        Self::for_dir("/proc/self".to_owned())
    }

    fn for_dir(dir: String) -> ProcReader {
        ProcReader {
            stat_path: format!("{dir}/stat"),
            status_path: format!("{dir}/status"),
            ticks_per_second: clock_ticks_per_second() as f64,
        }
    }

    /// Reads the process now; `None` when it is gone or the files are unreadable.
    pub(crate) fn sample(&self) -> Option<ProcSample> {
        let stat = std::fs::read_to_string(&self.stat_path).ok()?;
        let status = std::fs::read_to_string(&self.status_path).ok()?;
        Some(ProcSample {
            at: Instant::now(),
            cpu_seconds: parse_stat_cpu_ticks(&stat)? as f64 / self.ticks_per_second,
            rss_kib: parse_status_rss_kib(&status)?,
        })
    }
}

/// CPU cores used on average between two samples (1.0 = one core busy all the time).
pub(crate) fn cores_between(a: &ProcSample, b: &ProcSample) -> f64 {
    let wall = b.at.duration_since(a.at).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    (b.cpu_seconds - a.cpu_seconds).max(0.0) / wall
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// is in parentheses and may contain spaces and `)`, so fields are counted after the last `)`.
pub(crate) fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the name: field 3 (state) is index 0, so utime (14) is index 11, stime index 12.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` of a `/proc/<pid>/status` file, in KiB.
pub(crate) fn parse_status_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..].split_whitespace().next()?.parse().ok()
}

/// The 1-minute load average of the machine (other work competing with server and bench).
pub(crate) fn load_average_1m() -> Option<f64> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// `AT_CLKTCK` from the auxiliary vector, 100 (the Linux default) when it cannot be read.
fn clock_ticks_per_second() -> u64 {
    std::fs::read("/proc/self/auxv")
        .ok()
        .and_then(|auxv| parse_auxv_clktck(&auxv))
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

const AT_NULL: u64 = 0;
const AT_CLKTCK: u64 = 17;

/// The auxiliary vector is (type, value) pairs of native words; this tool runs on 64-bit Linux.
fn parse_auxv_clktck(auxv: &[u8]) -> Option<u64> {
    let word = |chunk: &[u8]| u64::from_ne_bytes(chunk.try_into().expect("8-byte chunk"));
    for pair in auxv.chunks_exact(16) {
        let (kind, value) = (word(&pair[..8]), word(&pair[8..]));
        match kind {
            AT_CLKTCK => return Some(value),
            AT_NULL => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_name() {
        let stat = "4242 (gyre (x) y) S 1 4242 4242 0 -1 4194560 2000 0 0 0 731 129 0 0 20 0 9 0 \
                    100 200000000 3000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(731 + 129));
        assert_eq!(parse_stat_cpu_ticks("12 (short) S 1 2"), None);
        assert_eq!(parse_stat_cpu_ticks("no parens"), None);
    }

    #[test]
    fn status_rss() {
        let status = "Name:\tgyre\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_status_rss_kib(status), Some(12345));
        assert_eq!(parse_status_rss_kib("Name:\tkthread\n"), None);
    }

    #[test]
    fn loadavg() {
        assert_eq!(parse_loadavg("3.21 3.32 2.46 2/99 21922\n"), Some(3.21));
        assert_eq!(parse_loadavg(""), None);
    }

    #[test]
    fn auxv_clktck() {
        let mut auxv = Vec::new();
        for (k, v) in [(6u64, 4096u64), (AT_CLKTCK, 250), (AT_NULL, 0)] {
            auxv.extend_from_slice(&k.to_ne_bytes());
            auxv.extend_from_slice(&v.to_ne_bytes());
        }
        assert_eq!(parse_auxv_clktck(&auxv), Some(250));
        assert_eq!(parse_auxv_clktck(&auxv[16..]), Some(250));
        assert_eq!(parse_auxv_clktck(&auxv[32..]), None);
    }

    #[test]
    fn reads_own_process() {
        let s = ProcReader::for_self().sample().expect("/proc/self readable");
        assert!(s.rss_kib > 0);
        assert!(clock_ticks_per_second() > 0);
    }
}
