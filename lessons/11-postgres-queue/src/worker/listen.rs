//! New: the listener, which wakes the loop when jobs arrive.

use crate::store::{self, CHANNEL};
use postgres::fallible_iterator::FallibleIterator as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the listener looks whether its worker is leaving.
const STOP_CHECK: Duration = Duration::from_millis(25);

// ANCHOR: listen
/// New: a thread with a connection of its own that waits for `NOTIFY` and wakes the loop. A
/// notification says only "look now"; the loop's claim decides what there is. If the connection
/// breaks, it connects again; notifications sent meanwhile are lost, which is why the loop also
/// polls.
pub(super) fn listen(url: String, wake: crossbeam_channel::Sender<()>, stop: Arc<AtomicBool>) {
    let mut backoff_try = 0;
    while !stop.load(Ordering::Acquire) {
        let Ok(mut client) = store::client(&url, Duration::from_secs(2)) else {
            backoff_try += 1;
            std::thread::sleep(Duration::from_millis(50 * backoff_try.min(20)));
            continue;
        };
        if client.batch_execute(&format!("LISTEN {CHANNEL}")).is_err() {
            continue;
        }
        backoff_try = 0;
        // Named, so a person (or a test) can see in pg_stat_activity that it is listening.
        let _ = client.batch_execute("SET application_name = 'lesson-11 listener'");
        // A notification may have come before LISTEN took effect: look once now.
        let _ = wake.try_send(());
        let mut quiet = Duration::ZERO;
        loop {
            if stop.load(Ordering::Acquire) {
                return;
            }
            // Short waits, so a worker that is leaving is not kept waiting for its listener.
            let next = client.notifications().timeout_iter(STOP_CHECK).next();
            match next {
                Ok(Some(_)) => {
                    quiet = Duration::ZERO;
                    // Many notifications, one wake-up: the channel holds one at most.
                    let _ = wake.try_send(());
                }
                Ok(None) => {
                    quiet += STOP_CHECK;
                    // Quiet for 250 ms: ask the server something, so a dead connection shows.
                    if quiet >= Duration::from_millis(250) {
                        quiet = Duration::ZERO;
                        if client.simple_query("").is_err() {
                            break;
                        }
                    }
                }
                Err(_) => break,
            }
        }
    }
}
// ANCHOR_END: listen
