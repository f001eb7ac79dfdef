//! The fossil delta format, as used by Centrifugo's delta compression (`delta: "fossil"`).
//!
//! A delta turns a *source* (the previous publication's data) into a *target* (the new data):
//!
//! ```text
//! <target length>\n  then any number of  <n>@<offset>,  (copy n bytes of the source)
//!                                         <n>:<n bytes>   (insert n literal bytes)
//!                    then                 <checksum>;     (of the whole target)
//! ```
//!
//! Every integer is written with fossil's 64-symbol digits (`0-9 A-Z _ a-z ~`), most significant
//! first. [`create`] reproduces the encoder Centrifugo uses (the Go package
//! `github.com/shadowspore/fossil-delta`) decision for decision, so for the same input it emits the
//! same bytes; the SDKs (centrifuge-js, centrifuge-python) only ever apply deltas. [`apply`] is the
//! strict inverse, meant for tests and for any server path that has to reconstruct a payload.
//!
//! Integers are written in full; the Go encoder truncates them to 32 bits, which only differs for
//! payloads over 4 GiB, far beyond anything a publication can carry.

mod apply;
mod checksum;
mod create;
mod digits;

pub use apply::{apply, apply_with_limit, DEFAULT_MAX_OUTPUT};
pub use checksum::checksum;
pub use create::create;

/// Why a delta could not be applied. Offsets are byte positions inside the delta.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FossilError {
    /// An integer was expected but the byte at `at` is not a digit (or the delta ended).
    #[error("expected an integer at byte {at}")]
    ExpectedInteger { at: usize },
    /// An integer does not fit into a `usize`.
    #[error("integer at byte {at} is too large")]
    IntegerOverflow { at: usize },
    /// The target length is not followed by a newline.
    #[error("target length not terminated by a newline")]
    BadHeader,
    /// The declared target length is above the caller's limit.
    #[error("declared target length {declared} exceeds the limit of {max}")]
    TargetTooLarge { declared: usize, max: usize },
    /// A count is followed by something other than `@`, `:` or `;`.
    #[error("unknown delta operator at byte {at}")]
    UnknownOperator { at: usize },
    /// A copy command does not end with `,`.
    #[error("copy command at byte {at} not terminated by ','")]
    CopyNotTerminated { at: usize },
    /// A copy reads past the end of the source.
    #[error("copy of {len} bytes at offset {offset} extends past the source ({source_len} bytes)")]
    CopyOutOfRange {
        offset: usize,
        len: usize,
        source_len: usize,
    },
    /// An insert announces more literal bytes than the delta still holds.
    #[error("insert of {len} bytes at byte {at} runs past the end of the delta")]
    InsertOutOfRange { at: usize, len: usize },
    /// The commands produce more bytes than the header declared.
    #[error("commands produce more than the declared {declared} bytes")]
    OutputTooLong { declared: usize },
    /// The commands produce fewer bytes than the header declared.
    #[error("commands produce {actual} bytes, the header declared {declared}")]
    OutputTooShort { declared: usize, actual: usize },
    /// The trailer checksum does not match the reconstructed target.
    #[error("checksum mismatch: delta says {expected:#x}, target has {actual:#x}")]
    BadChecksum { expected: usize, actual: u32 },
    /// The delta ends without the `;` trailer.
    #[error("delta ends without a checksum trailer")]
    Unterminated,
    /// Bytes follow the `;` trailer.
    #[error("{0} bytes after the checksum trailer")]
    TrailingData(usize),
}
