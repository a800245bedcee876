//! `cargo run --release -p lesson-9`: a quick version of the benchmarks, with peak memory.
//! `-- --sweep` adds workers and watches the time. (`cargo run --release -p bench-plot -- DIR`
//! turns criterion's results into the book's plots and tables.)

mod quick;

use course_support::{cli, human};
use quick::args::Args;
use quick::{child, counters, sweep, table};
use std::time::Instant;

fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    let scales = args.scales();
    let rounds = args.rounds();
    if let Some(shape) = args.measure_one {
        // A child process of the table: measure one shape and print one line.
        child::measure_one(shape, args.workers, scales[0], rounds);
        return;
    }
    let clock = Instant::now();
    if args.sweep {
        sweep::sweep();
    } else {
        println!("Lesson 9: what a job costs");
        for (i, &jobs) in scales.iter().enumerate() {
            // The picture is of the first table.
            let svg = args.picture.svg.as_deref().filter(|_| i == 0);
            table::table(args.workers, jobs, rounds, svg);
        }
        lesson_9::go::clean_up();
        counters::false_sharing();
    }
    println!("\nThe whole comparison took {}.", human(clock.elapsed()));
}
