//! New: connecting again after the server was lost, and handing back what that left unknown.

use super::{Config, Event};
use crate::store::{Store, StoreError};
use lesson_10::backoff::Backoff;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

// ANCHOR: reconnect
/// New: connects again with backoff (full jitter, doubling up to 1 s) until the server answers
/// or `give_up_after` has passed. Then compares the claims the server says this worker holds
/// with the ones it knows of, and hands back the rest: they were claimed in a commit whose
/// answer was lost, so no thread of this worker is running them.
pub(super) fn reconnect(
    config: &Config,
    held: &BTreeMap<i64, i64>,
    on_event: &mut impl FnMut(Event),
) -> Result<Store, StoreError> {
    let started = Instant::now();
    let retry = Backoff {
        base: Duration::from_millis(50),
        cap: Duration::from_secs(1),
        seed: config.backoff.seed,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let attempt = Store::connect(&config.url, config.backoff).and_then(|mut store| {
            let unknown: Vec<(i64, i64)> = store
                .held_by(&config.name)?
                .into_iter()
                .filter(|(id, token)| held.get(id) != Some(token))
                .collect();
            let handed_back = store.hand_back(&unknown)?;
            Ok((store, handed_back))
        });
        match attempt {
            Ok((store, handed_back)) => {
                on_event(Event::Reconnected {
                    after: started.elapsed(),
                    tries,
                    handed_back,
                });
                return Ok(store);
            }
            Err(e) if started.elapsed() >= config.give_up_after => return Err(e),
            Err(_) => std::thread::sleep(retry.delay(tries as i64, tries)),
        }
    }
}
// ANCHOR_END: reconnect
