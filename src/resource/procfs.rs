//! The figures sysinfo does not give, read from Linux's `/proc`: open file descriptors
//! (`/proc/PID/fd`), threads (`/proc/PID/status`), and TCP sockets by state (the process's
//! socket inodes matched against `/proc/PID/net/tcp` and `tcp6`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::PathBuf;

/// A process's descriptors: how many, and the inodes of the sockets among them.
#[derive(Debug, Default)]
pub(super) struct Descriptors {
    /// Open file descriptors.
    pub(super) count: u64,
    /// Inodes of the sockets among them.
    pub(super) sockets: HashSet<u64>,
}

fn proc_path(pid: u32, rest: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{rest}"))
}

/// The open descriptors of `pid`.
///
/// Errors: the process is gone (`NotFound`) or may not be read (`PermissionDenied`).
pub(super) fn descriptors(pid: u32) -> io::Result<Descriptors> {
    let mut out = Descriptors::default();
    for entry in std::fs::read_dir(proc_path(pid, "fd"))? {
        let Ok(entry) = entry else { continue };
        out.count += 1;
        // A descriptor closed between the listing and the readlink is simply not a socket.
        if let Ok(target) = std::fs::read_link(entry.path())
            && let Some(inode) = socket_inode(&target.to_string_lossy())
        {
            out.sockets.insert(inode);
        }
    }
    Ok(out)
}

/// `socket:[12345]` → 12345.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Threads of `pid` (the `Threads:` line of `/proc/PID/status`).
pub(super) fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(proc_path(pid, "status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The state of every TCP socket in `pid`'s network namespace, by inode (IPv4 and IPv6).
pub(super) fn tcp_states(pid: u32) -> HashMap<u64, &'static str> {
    let mut states = HashMap::new();
    for table in ["net/tcp", "net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(proc_path(pid, table)) {
            states.extend(parse_tcp_table(&text));
        }
    }
    states
}

/// The rows of a `/proc/net/tcp` table as (inode, state); the header and sockets without an
/// owner (inode 0: `TIME_WAIT` and the like) are skipped.
fn parse_tcp_table(text: &str) -> impl Iterator<Item = (u64, &'static str)> + '_ {
    text.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let state = u8::from_str_radix(fields.get(3)?, 16).ok()?;
        let inode: u64 = fields.get(9)?.parse().ok()?;
        (inode != 0).then(|| (inode, state_name(state)))
    })
}

/// The kernel's TCP state numbers (`include/net/tcp_states.h`).
fn state_name(code: u8) -> &'static str {
    match code {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        0x0C => "NEW_SYN_RECV",
        _ => "UNKNOWN",
    }
}

/// Count `sockets` by their state in `states` (sockets that are not TCP are not counted).
pub(super) fn count_tcp(
    sockets: &HashSet<u64>,
    states: &HashMap<u64, &'static str>,
) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for inode in sockets {
        if let Some(state) = states.get(inode) {
            *out.entry((*state).to_string()).or_insert(0) += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tcp_table_gives_owned_sockets_by_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:C351 0100007F:1F90 06 00000000:00000000 03:00000A2B 00000000     0        0 0 3 0000000000000000
";
        let rows: Vec<_> = parse_tcp_table(table).collect();
        assert_eq!(rows, vec![(1001, "LISTEN"), (1002, "ESTABLISHED")]);
        let states: HashMap<_, _> = rows.into_iter().collect();
        let sockets: HashSet<u64> = [1001, 1002, 7777].into();
        let counted = count_tcp(&sockets, &states);
        assert_eq!(counted.get("LISTEN"), Some(&1));
        assert_eq!(counted.get("ESTABLISHED"), Some(&1));
        assert_eq!(counted.values().sum::<u64>(), 2);
    }

    #[test]
    fn our_own_process_has_descriptors_and_threads() {
        let me = std::process::id();
        let before = descriptors(me).unwrap().count;
        let files: Vec<_> = (0..5).map(|_| tempfile::tempfile().unwrap()).collect();
        assert!(descriptors(me).unwrap().count >= before + 5);
        drop(files);
        assert!(threads(me).unwrap() >= 1);
        assert_eq!(socket_inode("socket:[42]"), Some(42));
        assert_eq!(socket_inode("/dev/null"), None);
    }
}
