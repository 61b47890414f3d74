//! Personal data as the GDPR asks: how long it is kept (`purge`, the `[retention]` settings run
//! daily as a job) and what a data subject may ask for (`subject`: their data exported, contact
//! data rectified, erasure where no law keeps the data), and the register of processing
//! activities (`register`, art. 30) generated from the configuration. The orgs' privacy notices
//! are `portal::privacy_notices`.

pub mod purge;
pub mod register;
pub mod subject;

#[cfg(test)]
mod tests;
