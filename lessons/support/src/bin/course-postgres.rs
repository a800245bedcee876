//! `cargo run -p course-support --bin course-postgres`: a throwaway PostgreSQL server for as long
//! as this program's standard input stays open.
//!
//! It prints the server's URL on one line, then waits; when its input closes (the script that
//! started it ends, or closes the pipe), it stops the server and deletes its folder. `.ci/run`
//! uses it to give lesson 11's tests one server for the whole run. Without PostgreSQL's programs
//! it prints what to install and exits 2.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

fn main() -> ExitCode {
    let server = match course_support::postgres::start() {
        Ok(server) => server,
        Err(why) => {
            eprintln!("error: {why}");
            return ExitCode::from(2);
        }
    };
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    // Until the input closes; what arrives on it is ignored.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(server);
    ExitCode::SUCCESS
}
