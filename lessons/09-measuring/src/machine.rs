//! What the machine says about itself: this process's memory, and how many threads run at once.

/// A `kB` line of `/proc/self/status`, such as `VmHWM` (peak resident memory) or `VmRSS`;
/// `None` where there is no such file (not Linux).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// How many threads this machine runs at once, as the standard library sees it (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
