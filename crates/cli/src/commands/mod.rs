//! One module per verb; each has `Args` (clap) and `run(Args) -> Result<ExitCode>`.

pub mod inspect;
pub mod instances;
pub mod test;
pub mod validate;
