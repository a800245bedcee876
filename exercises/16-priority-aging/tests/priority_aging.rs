//! The tests for exercise 16. They run against your code in `exercises/16-priority-aging` and
//! against the finished version in `solutions/16-priority-aging`.
//!
//! A job's rank at a pick is `priority × age_every + picks waited`; the tests check that `pop`
//! always takes the highest rank (the oldest among equals), that a low job under constant
//! high-priority load comes out at exactly the pick the rule says, and that several workers
//! sharing a `SharedQueue` get every job exactly once. Every wait is bounded: a queue that loops
//! forever, or a worker that is never woken, fails a test within seconds.

use course_support::testing::{RunCounts, within};
use priority_aging::{PriorityQueue, SharedQueue};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Barrier};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);
const LOOPS: &str = "does push() or pop() loop forever? Each should take a few steps";

/// Runs a single-threaded test body with a time limit, so a queue stuck in a loop fails the
/// test instead of hanging it.
fn bounded<R: Send + 'static>(what: &str, body: impl FnOnce() -> R + Send + 'static) -> R {
    within(LIMIT, what, LOOPS, body)
}

/// Pops until `None`, but never more than `pushed` times: more would mean jobs out of nowhere.
fn drain<T: std::fmt::Debug>(queue: &mut PriorityQueue<T>, pushed: usize) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(item) = queue.pop() {
        out.push(item);
        assert!(
            out.len() <= pushed,
            "pop() returned {} jobs, but only {pushed} were pushed: is a popped job left in the \
             queue?",
            out.len()
        );
    }
    out
}

/// A small deterministic generator (SplitMix64), so every run sees the same "random" jobs.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn higher_priority_comes_out_first_and_equals_in_push_order() {
    bounded("pushing 10 jobs and popping them", || {
        // A million picks per level: over ten picks, aging changes nothing.
        let mut queue = PriorityQueue::new(1_000_000);
        let jobs = [
            (3, "a"),
            (1, "b"),
            (4, "c"),
            (1, "d"),
            (5, "e"),
            (9, "f"),
            (2, "g"),
            (6, "h"),
            (5, "i"),
            (3, "j"),
        ];
        for (priority, name) in jobs {
            queue.push(priority, name);
        }
        assert_eq!(
            queue.len(),
            10,
            "len() after pushing 10 jobs (is_empty: {})",
            queue.is_empty()
        );
        let got = drain(&mut queue, jobs.len());
        let expected = ["f", "h", "e", "i", "c", "a", "j", "g", "b", "d"];
        let first = got.first().copied().unwrap_or("nothing");
        let why = if first == "b" || first == "d" {
            "the lowest priority came out first: is the heap a min-heap (a `Reverse` around the \
             priority), or the comparison the wrong way round?"
        } else {
            "the highest priority comes out first, and equal priorities (e and i, a and j, b and \
             d) in the order they were pushed"
        };
        assert_eq!(
            got, expected,
            "pushed (priority, job) {jobs:?}; pop() gave {got:?}: {why}"
        );
        assert!(
            queue.is_empty(),
            "every job was popped, but is_empty() is false and len() is {}",
            queue.len()
        );
    });
}

#[test]
fn equal_priorities_leave_first_in_first_out() {
    bounded("pushing 200 jobs and popping them", || {
        let mut queue = PriorityQueue::new(1_000_000);
        // Every fifth job has priority 7, the rest 2.
        let priority = |id: u64| if id % 5 == 0 { 7 } else { 2 };
        for id in 0..200 {
            queue.push(priority(id), id);
        }
        let got = drain(&mut queue, 200);
        let mut expected: Vec<u64> = (0..200).filter(|id| priority(*id) == 7).collect();
        expected.extend((0..200).filter(|id| priority(*id) == 2));
        if let Some(at) = (0..got.len().min(expected.len())).find(|&i| got[i] != expected[i]) {
            panic!(
                "pop number {} gave job {} but job {} was due: of jobs with equal priority, the \
                 one pushed first must come out first. A BinaryHeap is not first-in first-out \
                 among equals: put a push counter in the key, so that the older job wins a tie \
                 (popped so far: {:?})",
                at + 1,
                got[at],
                expected[at],
                &got[..=at]
            );
        }
        assert_eq!(
            got.len(),
            200,
            "200 jobs were pushed, {} came out: jobs are being lost",
            got.len()
        );
    });
}

#[test]
fn a_waiting_job_rises_one_level_every_age_every_picks() {
    bounded("the aging walk", || {
        // (low priority, high priority, age_every): before each pick a fresh high job arrives.
        for (low, high, age_every) in [(0, 3, 4), (2, 5, 1), (0, 1, 10), (254, 255, 3), (7, 7, 5)] {
            let due = u64::from(high - low) * age_every + 1;
            let mut queue = PriorityQueue::new(age_every);
            queue.push(low, u64::MAX);
            let mut came_out = None;
            for pick in 1..=2000u64 {
                queue.push(high, pick);
                match queue.pop() {
                    Some(u64::MAX) => {
                        came_out = Some(pick);
                        break;
                    }
                    Some(_) => {}
                    None => panic!(
                        "pop() returned None at pick {pick} with at least 2 jobs queued: jobs \
                         are being lost"
                    ),
                }
            }
            let setting = format!(
                "a job of priority {low}, with a fresh job of priority {high} arriving before \
                 each pick and age_every = {age_every}"
            );
            match came_out {
                None => panic!(
                    "{setting}, never came out in 2000 picks; it is due at pick {due}. Is aging \
                     applied at all? It counts picks (pops that return a job) since the job's \
                     push, not time: rank = priority × age_every + picks waited"
                ),
                Some(pick) if pick < due => panic!(
                    "{setting}, came out at pick {pick}, but it is due at pick {due}, not \
                     before: one level takes age_every = {age_every} picks of waiting (rank = \
                     priority × age_every + picks waited). Is age_every ignored, or the wait \
                     counted from before the job's push?"
                ),
                Some(pick) if pick > due => panic!(
                    "{setting}, came out at pick {pick}, but it is due at pick {due}: after \
                     ({high} − {low}) × {age_every} picks of waiting its rank equals a fresh \
                     job's, and on equal ranks the older goes first"
                ),
                Some(_) => {}
            }
        }
    });
}

/// What the model in the next tests knows about a queued job.
#[derive(Debug, Clone, Copy)]
struct Queued {
    id: u64,
    priority: u8,
    pushed_at_pick: u64,
}

#[test]
fn every_pop_takes_the_highest_rank_now_and_no_job_is_lost() {
    bounded("2000 random pushes and pops, three times", || {
        for (age_every, seed) in [(1, 1), (3, 2), (8, 3)] {
            let mut dice = Dice(seed);
            let mut queue = PriorityQueue::new(age_every);
            // The jobs queued, oldest first, and the picks so far.
            let mut model: Vec<Queued> = Vec::new();
            let mut picks = 0u64;
            let mut next_id = 0u64;
            for step in 1..=2000 {
                if dice.below(100) < 55 {
                    let priority = match dice.below(10) {
                        0 => 0,
                        1 => 255,
                        _ => dice.below(6) as u8,
                    };
                    queue.push(priority, next_id);
                    model.push(Queued {
                        id: next_id,
                        priority,
                        pushed_at_pick: picks,
                    });
                    next_id += 1;
                } else {
                    let rank = |j: &Queued| {
                        u128::from(j.priority) * u128::from(age_every)
                            + u128::from(picks - j.pushed_at_pick)
                    };
                    // The first of the highest rank: `max_by_key` would take the last.
                    let due = model
                        .iter()
                        .enumerate()
                        .fold(None::<(usize, u128)>, |best, (i, j)| match best {
                            Some((_, r)) if r >= rank(j) => best,
                            _ => Some((i, rank(j))),
                        })
                        .map(|(i, _)| i);
                    let got = queue.pop();
                    match (due, got) {
                        (None, None) => {}
                        (None, Some(id)) => panic!(
                            "step {step} (age_every {age_every}): pop() on an empty queue \
                             returned job {id}"
                        ),
                        (Some(i), None) => panic!(
                            "step {step} (age_every {age_every}): pop() returned None, but {} \
                             jobs are queued, such as {:?}: jobs are being lost (does a \
                             rescan or rebuild drop some, or do equal keys overwrite each \
                             other in a map?)",
                            model.len(),
                            model[i]
                        ),
                        (Some(i), Some(id)) => {
                            let expected = model[i];
                            let Some(at) = model.iter().position(|j| j.id == id) else {
                                panic!(
                                    "step {step}: pop() returned job {id}, which is not queued \
                                     (never pushed, or already popped)"
                                );
                            };
                            let popped = model[at];
                            assert_eq!(
                                id,
                                expected.id,
                                "step {step}, age_every {age_every}, after {picks} picks: \
                                 pop() took job {id} (priority {}, waited {} picks, rank {}), \
                                 but job {} (priority {}, waited {} picks, rank {}) ranks \
                                 higher, or equal and was pushed earlier. Rank = priority × \
                                 age_every + picks waited, counted in whole picks",
                                popped.priority,
                                picks - popped.pushed_at_pick,
                                rank(&popped),
                                expected.id,
                                expected.priority,
                                picks - expected.pushed_at_pick,
                                rank(&expected),
                            );
                            model.remove(at);
                            picks += 1;
                        }
                    }
                }
                assert_eq!(
                    queue.len(),
                    model.len(),
                    "step {step} (age_every {age_every}): len() is {}, but {} jobs are queued",
                    queue.len(),
                    model.len()
                );
                assert_eq!(
                    queue.is_empty(),
                    model.is_empty(),
                    "step {step}: is_empty()"
                );
            }
        }
    });
}

#[test]
fn under_constant_load_no_job_waits_past_its_bound() {
    bounded("3000 picks under constant load", || {
        const AGE_EVERY: u64 = 3;
        const TOP: u64 = 5;
        let mut dice = Dice(7);
        let mut queue = PriorityQueue::new(AGE_EVERY);
        // For each job: (priority, picks when pushed, jobs queued ahead of it then).
        let mut jobs: Vec<(u64, u64, usize)> = Vec::new();
        let mut picks = 0u64;
        let push = |queue: &mut PriorityQueue<usize>,
                    jobs: &mut Vec<(u64, u64, usize)>,
                    priority: u64,
                    picks: u64| {
            jobs.push((priority, picks, queue.len()));
            queue.push(priority as u8, jobs.len() - 1);
        };
        for _ in 0..20 {
            push(&mut queue, &mut jobs, 3 + dice.below(3), picks);
        }
        let mut popped = Vec::new();
        let mut worst_low = 0;
        for step in 0..3000 {
            // One job arrives per pick, so the load never lets up; every 40th pick a low one
            // arrives as well.
            if step % 40 == 0 {
                push(&mut queue, &mut jobs, dice.below(2), picks);
            }
            push(&mut queue, &mut jobs, 3 + dice.below(3), picks);
            popped.resize(jobs.len(), false);
            let Some(id) = queue.pop() else {
                panic!("pop() returned None at pick {picks}, with jobs queued: jobs are lost");
            };
            let (priority, pushed_at, ahead) = jobs[id];
            let waited = picks - pushed_at;
            // Ahead of it: the jobs queued when it arrived, and those pushed after it that
            // outrank it, which are only those pushed less than (their priority − its
            // priority) × AGE_EVERY picks later.
            let overtakers = jobs[id + 1..]
                .iter()
                .take_while(|(_, at, _)| *at < pushed_at + (TOP - priority) * AGE_EVERY)
                .filter(|(q, at, _)| *q > priority && at - pushed_at < (q - priority) * AGE_EVERY)
                .count();
            let bound = (ahead + overtakers) as u64;
            assert!(
                waited <= bound,
                "job {id} (priority {priority}) waited {waited} picks under constant load, with \
                 {ahead} jobs queued ahead of it, {overtakers} later ones that may overtake it, \
                 and age_every = {AGE_EVERY}: it should have come out within {bound} picks. Without aging, a job waits as long as higher ones \
                 keep coming"
            );
            if priority < 3 {
                worst_low = worst_low.max(waited);
            }
            popped[id] = true;
            picks += 1;
        }
        popped.resize(jobs.len(), false);
        let rest = drain(&mut queue, jobs.len());
        for id in rest {
            assert!(!popped[id], "job {id} came out twice");
            popped[id] = true;
        }
        let never: Vec<usize> = (0..jobs.len()).filter(|&id| !popped[id]).collect();
        assert!(
            never.is_empty(),
            "jobs {never:?} were pushed but never came out"
        );
        assert!(
            worst_low > 0,
            "no low-priority job ever waited: the load is not what this test expects"
        );
    });
}

/// Runs `body`, turning a panic into a message that names the likely overflow.
fn without_overflow<R>(what: &str, body: impl FnOnce() -> R) -> R {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or_else(|_| {
        panic!(
            "{what} panicked (its message is above). If it says \"attempt to add (or multiply) \
             with overflow\": a rank goes past what its type holds. 255 × age_every does not fit \
             in a u64 when age_every is large, and a priority that ages past 255 does not fit in \
             a u8; compute ranks in u128"
        )
    })
}

#[test]
fn ranks_past_the_top_priority_and_huge_age_every_do_not_overflow() {
    bounded("aging past priority 255", || {
        // age_every = 1: a job rises a level at every pick, far past 255.
        for fillers in [120usize, 300] {
            let got = without_overflow("aging past priority 255", || {
                let mut queue = PriorityQueue::new(1);
                for n in 0..fillers {
                    queue.push(255, format!("filler {n}"));
                }
                queue.push(10, "A".to_string());
                let mut got = Vec::new();
                for _ in 0..100 {
                    got.push(queue.pop().unwrap_or_default());
                }
                queue.push(250, "B".to_string());
                got.extend(drain(&mut queue, fillers + 2));
                got
            });
            let tail: Vec<&str> = got.iter().skip(fillers).map(String::as_str).collect();
            assert_eq!(
                tail,
                ["B", "A"],
                "with age_every = 1: A (priority 10) was pushed at pick 0 and B (priority 250) at \
                 pick 100; after the {fillers} older fillers of priority 255, B ranks {} and A \
                 ranks {}, so B comes out first. A rank past 255 must still compare: is the \
                 effective priority kept in a u8 (which wraps, or stops at 255)?",
                250 + fillers - 100,
                10 + fillers
            );
        }
        let got = without_overflow("push with age_every = u64::MAX", || {
            let mut queue = PriorityQueue::new(u64::MAX);
            for (priority, name) in [(0, "bottom"), (255, "top"), (128, "middle"), (255, "top 2")] {
                queue.push(priority, name);
            }
            let mut got = vec![queue.pop().unwrap_or_default()];
            queue.push(254, "fresh");
            got.extend(drain(&mut queue, 5));
            got
        });
        assert_eq!(
            got,
            ["top", "top 2", "fresh", "middle", "bottom"],
            "with age_every = u64::MAX aging is too slow to matter: plain priority order, and \
             equal priorities in push order"
        );
    });
}

#[test]
fn a_push_wakes_a_worker_waiting_on_an_empty_queue() {
    let queue = Arc::new(SharedQueue::new(4));
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = {
        let queue = Arc::clone(&queue);
        std::thread::spawn(move || {
            while let Some(job) = queue.pop() {
                if tx.send(job).is_err() {
                    break;
                }
            }
        })
    };
    // Each round the worker is probably already waiting in pop() when the job arrives.
    for job in 0..20u64 {
        queue.push(1, job).expect("the queue is open");
        let got = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|e| match e {
            RecvTimeoutError::Timeout => panic!(
                "job {job} was pushed, and a worker waiting in pop() did not get it within 5 s: \
                 push must wake a waiting worker (notify the Condvar after adding the job), and \
                 pop must wait on that Condvar in a loop that checks the queue again"
            ),
            RecvTimeoutError::Disconnected => panic!(
                "the worker left before job {job}: pop() returned None on an empty queue that \
                 is still open. It must wait (on the Condvar) until a job arrives or the queue \
                 is closed"
            ),
        });
        assert_eq!(got, job, "the only job queued");
    }
    queue.close();
    within(
        LIMIT,
        "a worker leaving after close",
        "pop() must return None once the queue is closed and empty",
        move || worker.join().expect("the worker does not panic"),
    );
}

#[test]
fn close_wakes_every_waiting_worker() {
    for round in 0..10 {
        let queue: Arc<SharedQueue<u64>> = Arc::new(SharedQueue::new(4));
        let ready = Arc::new(Barrier::new(5));
        let (tx, rx) = std::sync::mpsc::channel();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (queue, ready, tx) = (Arc::clone(&queue), Arc::clone(&ready), tx.clone());
                std::thread::spawn(move || {
                    ready.wait();
                    let _ = tx.send(queue.pop());
                })
            })
            .collect();
        ready.wait();
        queue.close();
        for n in 1..=4 {
            let got = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| {
                panic!(
                    "round {round}: after close(), only {} of 4 workers waiting in pop() on an \
                     empty queue came back within 5 s: close must wake them all (notify_all), \
                     and pop must return None when the queue is closed and empty",
                    n - 1
                )
            });
            assert_eq!(got, None, "pop() on a closed, empty queue");
        }
        for worker in workers {
            worker.join().expect("the worker does not panic");
        }
    }
}

#[test]
fn after_close_pushes_are_handed_back_and_queued_jobs_still_come_out() {
    bounded("closing a queue with jobs in it", || {
        let queue = SharedQueue::new(1_000);
        for (priority, job) in [(1, "one"), (3, "three"), (2, "two")] {
            assert_eq!(queue.push(priority, job), Ok(()), "push on an open queue");
        }
        queue.close();
        assert_eq!(
            queue.push(9, "late"),
            Err("late"),
            "a push after close() must hand the job back as Err(job)"
        );
        let got = [queue.pop(), queue.pop(), queue.pop(), queue.pop()];
        assert_eq!(
            got,
            [Some("three"), Some("two"), Some("one"), None],
            "jobs queued before close() still come out, by priority; then pop() returns None"
        );
        assert!(queue.is_empty(), "every job was popped");
    });
}

#[test]
fn several_workers_share_the_queue_and_every_job_comes_out_once() {
    let runs = Arc::new(RunCounts::new());
    let seen = Arc::clone(&runs);
    let left_early = within(
        LIMIT,
        "4 workers popping 2000 jobs from 2 producers",
        "is a worker stuck in pop()? After close() it must return None once the queue is \
         empty, and close must wake every waiting worker (notify_all)",
        move || {
            let queue = Arc::new(SharedQueue::new(3));
            // Raised just before close(): a worker that gets None before then left too soon.
            let closing = Arc::new(AtomicBool::new(false));
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let (queue, seen, closing) =
                        (Arc::clone(&queue), Arc::clone(&seen), Arc::clone(&closing));
                    std::thread::spawn(move || {
                        while let Some(job) = queue.pop() {
                            seen.ran(job);
                        }
                        !closing.load(Ordering::SeqCst)
                    })
                })
                .collect();
            let producers: Vec<_> = (0..2u64)
                .map(|p| {
                    let queue = Arc::clone(&queue);
                    std::thread::spawn(move || {
                        for job in p * 1000..(p + 1) * 1000 {
                            queue.push((job % 7) as u8, job).expect("the queue is open");
                            // Now and then the queue runs dry, so workers wait and are woken.
                            if job % 4 == 0 {
                                std::thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            for producer in producers {
                producer.join().expect("a producer does not panic");
            }
            closing.store(true, Ordering::SeqCst);
            queue.close();
            workers
                .into_iter()
                .map(|worker| worker.join().expect("a worker does not panic"))
                .filter(|early| *early)
                .count()
        },
    );
    runs.assert_each_ran_once(0..2000);
    assert_eq!(
        left_early, 0,
        "{left_early} of 4 workers got None from pop() before close() was called: pop must \
         wait in a loop, checking the queue again after every wake-up, since a wake-up can find \
         the job already taken by another worker (or be spurious)"
    );
}

#[test]
fn under_constant_load_workers_reach_a_low_job_within_the_bound() {
    // 4 workers share a queue of priority-3 jobs; each job, when taken, puts a fresh one back,
    // so the queue never runs dry. One priority-0 job waits among them.
    const LOW: u64 = 0;
    const CAP: u64 = 5000;
    let position = within(
        LIMIT,
        "4 workers under constant load",
        "is a worker stuck in pop()? After close() it must return None once the queue is \
         empty, and close must wake every waiting worker (notify_all)",
        move || {
            let queue = Arc::new(SharedQueue::new(4));
            for job in 1..=8 {
                queue.push(3, job).expect("the queue is open");
            }
            queue.push(0, LOW).expect("the queue is open");
            let taken = Arc::new(AtomicU64::new(0));
            let next = Arc::new(AtomicU64::new(9));
            let low_at = Arc::new(AtomicU64::new(u64::MAX));
            let done = Arc::new(AtomicBool::new(false));
            let workers: Vec<_> = (0..4)
                .map(|_| {
                    let (queue, taken, next, low_at, done) = (
                        Arc::clone(&queue),
                        Arc::clone(&taken),
                        Arc::clone(&next),
                        Arc::clone(&low_at),
                        Arc::clone(&done),
                    );
                    std::thread::spawn(move || {
                        while let Some(job) = queue.pop() {
                            let position = taken.fetch_add(1, Ordering::SeqCst);
                            if job == LOW {
                                low_at.store(position, Ordering::SeqCst);
                                done.store(true, Ordering::SeqCst);
                            }
                            let fresh = next.fetch_add(1, Ordering::SeqCst);
                            if done.load(Ordering::SeqCst) || fresh > CAP {
                                queue.close();
                            } else {
                                // Refused only once another worker has closed the queue.
                                let _ = queue.push(3, fresh);
                            }
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker.join().expect("a worker does not panic");
            }
            low_at.load(Ordering::SeqCst)
        },
    );
    // 8 jobs were ahead of it; only jobs pushed within 3 × 4 = 12 picks after it can overtake
    // it, and the 4 workers each may hold one more; the rest is slack for the interleaving.
    assert!(
        position != u64::MAX,
        "the priority-0 job never came out, although the queue was drained at the end"
    );
    assert!(
        position <= 40,
        "the priority-0 job came out only after {position} others, under constant load of \
         priority-3 jobs with age_every = 4: it should rise a level every 4 picks and come out \
         within about 8 + 12 + 4 picks. Without aging, it waits until the load stops"
    );
}

#[test]
fn a_push_wakes_a_waiting_worker_at_once_not_at_its_next_look() {
    let queue = Arc::new(SharedQueue::new(4));
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = {
        let queue = Arc::clone(&queue);
        std::thread::spawn(move || {
            while let Some(job) = queue.pop() {
                if tx.send((job, std::time::Instant::now())).is_err() {
                    break;
                }
            }
        })
    };
    // Pauses of different lengths, so that a worker that sleeps and looks again cannot happen
    // to look just after every push.
    let mut delays = Vec::new();
    for job in 0..9u64 {
        std::thread::sleep(Duration::from_millis(30 + 7 * job));
        let pushed = std::time::Instant::now();
        queue.push(1, job).expect("the queue is open");
        let (got, taken) = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| {
            panic!(
                "job {job} was pushed, and a worker waiting in pop() did not get it within 5 s: \
                 push must wake a waiting worker (notify the Condvar after adding the job)"
            )
        });
        assert_eq!(got, job, "the only job queued");
        delays.push(taken.saturating_duration_since(pushed));
    }
    delays.sort();
    let median = delays[delays.len() / 2];
    assert!(
        median < Duration::from_millis(40),
        "a worker waiting in pop() took a median {median:?} to get a job after its push (all: \
         {delays:?}): does pop() sleep and look again (polling), or wait with a time-out, \
         instead of waiting on the Condvar that push() notifies? `state = \
         self.ready.wait(state).unwrap()` wakes at once"
    );
    queue.close();
    within(
        LIMIT,
        "a worker leaving after close",
        "pop() must return None once the queue is closed and empty",
        move || worker.join().expect("the worker does not panic"),
    );
}

#[test]
fn an_age_every_of_zero_is_refused() {
    let plain = std::panic::catch_unwind(|| PriorityQueue::<u8>::new(0).len());
    assert!(
        plain.is_err(),
        "PriorityQueue::new(0) returned a queue, but it should panic: a job cannot rise one \
         level every 0 picks (start `new` with `assert!(age_every > 0, ..)`)"
    );
    let shared = std::panic::catch_unwind(|| SharedQueue::<u8>::new(0).len());
    assert!(
        shared.is_err(),
        "SharedQueue::new(0) returned a queue, but it should panic, as PriorityQueue::new(0) \
         does (build the inner queue with PriorityQueue::new)"
    );
}

#[test]
fn a_shared_queue_reports_its_length_and_whether_it_is_closed() {
    bounded("a shared queue's len, is_empty and is_closed", || {
        let queue = SharedQueue::new(4);
        assert!(
            queue.is_empty() && !queue.is_closed(),
            "a new queue is empty and open"
        );
        for n in 0..3u8 {
            queue.push(n, n).expect("the queue is open");
        }
        assert_eq!(queue.len(), 3, "3 jobs pushed, none popped");
        assert!(!queue.is_empty(), "3 jobs are waiting");
        queue.close();
        assert!(queue.is_closed(), "close() was called");
        assert_eq!(queue.pop(), Some(2), "the highest priority first");
        assert_eq!(queue.len(), 2, "2 jobs still waiting after close");
    });
}
