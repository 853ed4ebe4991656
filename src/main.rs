fn main() -> std::process::ExitCode {
    foxbot::cli::main()
}
