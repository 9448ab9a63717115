fn main() -> std::process::ExitCode {
    strata::cli::drivectl::main()
}
