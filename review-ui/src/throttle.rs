//! Slowing down password guessing without letting a stranger lock a user out.
//!
//! Failures are counted per account *and client address*: after [`FREE_FAILURES`] wrong
//! passwords for one name from one address, each further attempt for that name from that
//! address must wait, twice as long each time (up to [`MAX_DELAY_MS`]). The same name from
//! another address (the user at their own desk) is not slowed by a stranger's guesses. An
//! address that fails more than [`MAX_PER_ADDRESS`] times within [`WINDOW_MS`], whatever the
//! names, is refused for the rest of the window. Both tables are bounded ([`MAX_ENTRIES`]):
//! entries older than the window are pruned, and when that is not enough the stalest go.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Wrong passwords for one name from one address before attempts are delayed.
pub const FREE_FAILURES: u32 = 3;
/// The longest delay between attempts for one name from one address.
pub const MAX_DELAY_MS: i64 = 15 * 60 * 1000;
/// Failures one address may have within the window, over all names.
pub const MAX_PER_ADDRESS: u32 = 50;
/// How long failures are remembered.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Most entries kept in each table.
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    /// Time of the last failure.
    last: i64,
    /// No attempt before this time.
    until: i64,
}

/// What to do with a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Try,
    /// Refuse without checking; try again after this many milliseconds.
    Wait(i64),
}

/// What a failure did, for the audit log (which records the first failure and every tenth,
/// and when delays start, not every guess).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Failures for this name from this address within the window.
    pub failures: u32,
    /// The delay now imposed, if any.
    pub delay_ms: Option<i64>,
}

impl Failure {
    /// Whether this failure is worth an audit entry.
    pub fn worth_auditing(&self) -> bool {
        self.failures == 1 || self.failures == FREE_FAILURES + 1 || self.failures.is_multiple_of(10)
    }
}

/// The counters, shared by the request handlers.
#[derive(Debug, Default)]
pub struct Throttle {
    inner: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    accounts: HashMap<(String, IpAddr), Entry>,
    addresses: HashMap<IpAddr, Entry>,
}

fn prune<K: Clone + Eq + std::hash::Hash>(map: &mut HashMap<K, Entry>, now: i64) {
    if map.len() < MAX_ENTRIES {
        return;
    }
    map.retain(|_, e| now - e.last < WINDOW_MS || e.until > now);
    while map.len() >= MAX_ENTRIES {
        let Some(stalest) = map.iter().min_by_key(|(_, e)| e.last).map(|(k, _)| k.clone()) else { break };
        map.remove(&stalest);
    }
}

impl Throttle {
    /// Whether `name` may try a password from `addr` now.
    pub fn check(&self, name: &str, addr: IpAddr, now: i64) -> Verdict {
        let t = self.inner.lock().expect("not poisoned");
        if let Some(a) = t.addresses.get(&addr) {
            if a.failures >= MAX_PER_ADDRESS && now - a.last < WINDOW_MS {
                return Verdict::Wait(WINDOW_MS - (now - a.last));
            }
        }
        match t.accounts.get(&(name.to_lowercase(), addr)) {
            Some(e) if e.until > now => Verdict::Wait(e.until - now),
            _ => Verdict::Try,
        }
    }

    /// Counts a wrong password for `name` from `addr`.
    pub fn failed(&self, name: &str, addr: IpAddr, now: i64) -> Failure {
        let mut t = self.inner.lock().expect("not poisoned");
        prune(&mut t.addresses, now);
        prune(&mut t.accounts, now);
        let a = t.addresses.entry(addr).or_insert(Entry { failures: 0, last: now, until: 0 });
        if now - a.last >= WINDOW_MS {
            a.failures = 0;
        }
        a.failures += 1;
        a.last = now;
        let e = t.accounts.entry((name.to_lowercase(), addr)).or_insert(Entry { failures: 0, last: now, until: 0 });
        if now - e.last >= WINDOW_MS && e.until <= now {
            e.failures = 0;
        }
        e.failures += 1;
        e.last = now;
        let delay_ms = (e.failures > FREE_FAILURES).then(|| {
            let doublings = (e.failures - FREE_FAILURES - 1).min(20);
            (1000i64 << doublings).min(MAX_DELAY_MS)
        });
        if let Some(d) = delay_ms {
            e.until = now + d;
        }
        Failure { failures: e.failures, delay_ms }
    }

    /// Forgets the failures of `name` from `addr` after the right password.
    pub fn succeeded(&self, name: &str, addr: IpAddr) {
        self.inner.lock().expect("not poisoned").accounts.remove(&(name.to_lowercase(), addr));
    }

    /// Entries held (accounts, addresses).
    pub fn len(&self) -> (usize, usize) {
        let t = self.inner.lock().expect("not poisoned");
        (t.accounts.len(), t.addresses.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a_stranger_slows_only_their_own_guesses() {
        let t = Throttle::default();
        let mut now = 1_000_000;
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.check("dara", ip(9), now), Verdict::Try);
            assert_eq!(t.failed("dara", ip(9), now).delay_ms, None);
        }
        // Then delays that double.
        let delays: Vec<i64> = (0..4)
            .map(|_| {
                let d = t.failed("dara", ip(9), now).delay_ms.unwrap();
                assert!(matches!(t.check("Dara", ip(9), now), Verdict::Wait(w) if w == d), "names are one whatever their case");
                now += d;
                d
            })
            .collect();
        assert_eq!(delays, [1000, 2000, 4000, 8000]);
        // Dara at her own desk is not slowed.
        assert_eq!(t.check("dara", ip(5), now), Verdict::Try);
        t.succeeded("dara", ip(5));
        // The delay never exceeds its bound.
        let d = (0..30).map(|_| t.failed("dara", ip(9), now).delay_ms.unwrap()).max().unwrap();
        assert_eq!(d, MAX_DELAY_MS);
    }

    #[test]
    fn an_address_guessing_many_names_is_refused_for_a_while() {
        let t = Throttle::default();
        let now = 5_000_000;
        for i in 0..MAX_PER_ADDRESS {
            t.failed(&format!("user{i}"), ip(7), now);
        }
        assert!(matches!(t.check("someone-else", ip(7), now + 1000), Verdict::Wait(_)));
        assert_eq!(t.check("someone-else", ip(8), now + 1000), Verdict::Try);
        assert_eq!(t.check("someone-else", ip(7), now + WINDOW_MS), Verdict::Try, "until the window has passed");
    }

    #[test]
    fn the_tables_stay_bounded() {
        let t = Throttle::default();
        for i in 0..(MAX_ENTRIES as u32 + 500) {
            t.failed(&format!("n{i}"), IpAddr::from((i + 1).to_be_bytes()), 1_000 + i64::from(i));
        }
        let (accounts, addresses) = t.len();
        assert!(accounts <= MAX_ENTRIES && addresses <= MAX_ENTRIES, "{accounts} {addresses}");
    }

    #[test]
    fn failures_are_audited_sparingly() {
        let t = Throttle::default();
        let audited = (0..40).filter(|_| t.failed("dara", ip(9), 0).worth_auditing()).count();
        assert!(audited <= 8, "{audited} of 40 failures audited");
    }
}
