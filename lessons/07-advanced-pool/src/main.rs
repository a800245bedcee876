//! `cargo run -p lesson-7`: the advanced pool through a scripted day: a burst against the rate
//! limit, an outage that trips the breaker, its recovery, steady load with a panic, a full
//! queue, and a graceful close. The pool's clock is a `ManualClock` the script moves by hand,
//! so the story is the same on every run; the jobs themselves take real time.

mod demo;

use course_support::cli;
use demo::args::Args;
use demo::scenes;
use demo::show;
use demo::stage::Stage;

fn main() {
    cli::quiet_on_closed_stdout();
    let args: Args = cli::parse();
    args.check_room();
    show::quiet_worker_panics();
    let mut stage = Stage::new(&args);

    scenes::introduction(&stage, &args);
    scenes::burst(&mut stage, &args);
    scenes::outage(&mut stage, &args);
    scenes::recovery(&mut stage, &args);
    scenes::steady_load(&mut stage, &args);
    scenes::full_queue(&mut stage, &args);
    let (metrics, spans) = scenes::closing_time(stage);

    if args.json {
        println!("{}", metrics.to_json());
        return;
    }
    show::metrics(&metrics);
    show::run(&spans, &args);
}
