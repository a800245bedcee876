//! A worker's life: started under the lock when the pool needs it, its loop (take a job, or wait
//! for one until the idle timeout), and its retirement, also under the lock.

use super::{Event, Shared, State, Why};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

impl<J: Send + 'static> Shared<J> {
    /// Starts one worker. Called with the lock held, so `alive` counts the new worker before
    /// anyone else can look.
    pub(super) fn spawn(shared: &Arc<Self>, state: &mut State<J>, why: Why) {
        // Join the threads of workers that have retired since, so the list stays short.
        let (done, running) = std::mem::take(&mut state.handles)
            .into_iter()
            .partition::<Vec<_>, _>(|h| h.is_finished());
        state.handles = running;
        for handle in done {
            handle.join().expect("a worker thread does not panic");
            state.report.joined += 1;
        }
        state.next_worker += 1;
        let id = state.next_worker;
        state.alive += 1;
        state.report.started += 1;
        let me = Arc::clone(shared);
        let handle = std::thread::Builder::new()
            .name(format!("dynamic-worker-{id}"))
            .spawn(move || worker(id, &me))
            .expect("the OS can start a thread");
        state.handles.push(handle);
        shared.emit(Event::Started {
            worker: id,
            alive: state.alive,
            why,
        });
        shared.alive_changed.notify_all();
    }

    /// Takes one worker out of `alive`. The caller leaves its loop right after.
    pub(super) fn retire(&self, mut state: MutexGuard<'_, State<J>>, id: usize, why: Why) {
        state.alive -= 1;
        match why {
            Why::Idle => state.report.retired_idle += 1,
            Why::Surplus => state.report.retired_surplus += 1,
            _ => {}
        }
        self.emit(Event::Retired {
            worker: id,
            alive: state.alive,
            why,
        });
        self.alive_changed.notify_all();
    }
}

// ANCHOR: worker
fn worker<J: Send + 'static>(id: usize, shared: &Shared<J>) {
    let mut state = shared.lock();
    // When this worker last ran out of work; `None` while it has some.
    let mut idle_since: Option<Instant> = None;
    loop {
        // New: a resize lowered `max`; leave now, between jobs, never during one.
        if state.alive > state.limits.max {
            return shared.retire(state, id, Why::Surplus);
        }
        if let Some((job, work)) = state.queue.pop_front() {
            idle_since = None;
            state.busy += 1;
            drop(state);
            let began = Instant::now();
            // As in lesson 7, a panicking job must not take its worker (and `busy`) with it.
            let panicked = catch_unwind(AssertUnwindSafe(|| (shared.handler)(&work))).is_err();
            let took = began.elapsed();
            shared.emit(Event::Finished {
                job,
                worker: id,
                started: began - shared.start,
                took,
                panicked,
            });
            state = shared.lock();
            state.busy -= 1;
            state.report.ran += 1;
            state.report.panicked += u64::from(panicked);
            continue;
        }
        if state.closed {
            return shared.retire(state, id, Why::Shutdown);
        }
        // New: nothing to do. Wait for work, but only until the idle timeout runs out.
        let since = *idle_since.get_or_insert_with(Instant::now);
        let left = state.limits.idle.saturating_sub(since.elapsed());
        if left.is_zero() {
            if state.alive > state.limits.min {
                return shared.retire(state, id, Why::Idle);
            }
            // At the floor: stay, and sleep until something changes.
            idle_since = None;
            state = shared.work.wait(state).expect("never poisoned");
            continue;
        }
        state = shared
            .work
            .wait_timeout(state, left)
            .expect("never poisoned")
            .0;
    }
}
// ANCHOR_END: worker
