//! `roster`: serve any set of Roster's services, run migrations, bootstrap an operator.
fn main() -> std::process::ExitCode {
    roster::cli::main()
}
