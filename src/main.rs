fn main() -> std::process::ExitCode {
    strata::cli::strata::main()
}
