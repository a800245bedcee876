//! The tests for the loom-model exercise. They run your `model` under loom against both
//! limiters, in `exercises/18-loom-model` and against the finished version in
//! `solutions/18-loom-model`. A good model fails on the buggy limiter and passes on the correct
//! one; these tests check both, and that it really races threads.

use course_support::testing::within;
use loom_model::{BuggyLimiter, Limiter, Slots, model};
use std::any::Any;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const TOO_BIG: &str = "either the model never ends, or it is too big. Does a thread wait in a \
     loop loom cannot see (a std atomic or Mutex, a sleep, a spin until try_take says yes)? \
     Loom can only switch threads at loom's own types. Or: loom tries every interleaving, and \
     their number grows very fast with threads and steps; two threads with one try_take each \
     are enough";

/// Runs `model::<L>` under loom, bounded in time and in preemptions, and returns the panic
/// message of the first failing interleaving, if any.
fn explore<L: Slots>(what: &str) -> Result<(), String> {
    within(LIMIT, what, TOO_BIG, || {
        catch_unwind(AssertUnwindSafe(|| {
            let mut builder = loom::model::Builder::new();
            // Three preemptions find this bug many times over and keep a large model finite.
            builder.preemption_bound = Some(3);
            builder.check(model::<L>);
        }))
        .map_err(|panic| message(panic.as_ref()))
    })
}

fn message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with no message".to_string()
    }
}

fn still_todo(msg: &str) -> bool {
    msg.contains("not yet implemented")
}

#[test]
fn your_model_passes_against_the_correct_limiter() {
    if let Err(msg) = explore::<Limiter>("the model against the correct limiter") {
        assert!(!still_todo(&msg), "model() is still todo!(): {msg}");
        let cause = if msg.contains("maximum number of branches") {
            "loom gave up because in some interleaving the model never ends: does a thread loop \
             until try_take says yes? With one slot and nobody releasing it, the loser waits \
             forever; call try_take once in each thread"
        } else if msg.contains("outside a Loom model") {
            "a loom atomic was used from a thread loom does not run: spawn with \
             loom::thread::spawn and share with loom::sync::Arc, not std's"
        } else {
            "check what it asserts: with one slot and two threads, either one of them gets it, \
             never both, and never neither (the first to try always finds it free), and which \
             one wins is up to the interleaving. Use loom's thread and Arc, not std's"
        };
        panic!(
            "your model failed against the correct limiter, which never hands out more slots \
             than it has: \"{msg}\". {cause}."
        );
    }
}

// ANCHOR: catches
#[test]
fn your_model_catches_the_buggy_limiter() {
    match explore::<BuggyLimiter>("the model against the buggy limiter") {
        Ok(()) => panic!(
            "your model passed against the buggy limiter: run at least two loom threads that \
             each call try_take on a limiter with one slot, count how many were told they got \
             it (what try_take returned), and assert that at most one was. The limiter's own \
             count cannot show this bug: the lost update leaves it at 1."
        ),
        Err(msg) => assert!(!still_todo(&msg), "model() is still todo!(): {msg}"),
    }
}
// ANCHOR_END: catches

/// Thread ids that called `try_take`, over every run of the model.
static CALLERS: Mutex<Option<HashSet<loom::thread::ThreadId>>> = Mutex::new(None);

/// The correct limiter, noting which thread calls `try_take`.
struct Spy(Limiter);

impl Slots for Spy {
    fn new(limit: usize) -> Self {
        Spy(Limiter::new(limit))
    }

    fn try_take(&self) -> bool {
        let me = loom::thread::current().id();
        CALLERS
            .lock()
            .expect("no test panics while holding this lock")
            .get_or_insert_with(HashSet::new)
            .insert(me);
        self.0.try_take()
    }

    fn release(&self) {
        self.0.release();
    }

    fn taken(&self) -> usize {
        self.0.taken()
    }
}

#[test]
fn your_model_calls_try_take_from_at_least_two_threads() {
    let result = explore::<Spy>("the model against a limiter that notes its callers");
    if let Err(msg) = &result {
        assert!(!still_todo(msg), "model() is still todo!(): {msg}");
    }
    let callers = CALLERS
        .lock()
        .expect("no test panics while holding this lock")
        .take()
        .map_or(0, |ids| ids.len());
    assert!(
        callers >= 2,
        "try_take was called from {callers} thread(s): a race needs two threads spawned with \
         loom::thread::spawn that each call it, so loom can interleave them"
    );
}

/// Takes and releases on one thread, where nothing can come between a load and a store.
fn one_thread_at_a_time<L: Slots>() {
    let limiter = L::new(2);
    assert!(limiter.try_take(), "the first of 2 slots is free");
    assert!(limiter.try_take(), "the second of 2 slots is free");
    assert!(!limiter.try_take(), "both slots are taken");
    assert_eq!(limiter.taken(), 2, "2 slots taken");
    limiter.release();
    assert_eq!(limiter.taken(), 1, "one slot given back");
    assert!(limiter.try_take(), "the slot given back is free again");
    assert_eq!(limiter.taken(), 2, "2 slots taken again");
}

#[test]
fn both_limiters_are_right_when_nobody_races_them() {
    // Why a test with one thread, or with threads that rarely overlap, cannot find the bug: the
    // buggy limiter is only wrong when another thread comes between its load and its store.
    for (name, run) in [
        ("Limiter", one_thread_at_a_time::<Limiter> as fn()),
        ("BuggyLimiter", one_thread_at_a_time::<BuggyLimiter>),
    ] {
        let outcome = within(LIMIT, name, TOO_BIG, move || {
            catch_unwind(AssertUnwindSafe(|| loom::model(run))).map_err(|p| message(p.as_ref()))
        });
        if let Err(msg) = outcome {
            panic!(
                "{name}, used from one thread only, went wrong: \"{msg}\". Both limiters are given \
                 code, and both are right when no other thread comes between a load and a \
                 store: was one of them changed? Only the model is yours to write"
            );
        }
    }
}
