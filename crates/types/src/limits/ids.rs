//! Length limits of the identifiers people choose: instance ids, business
//! keys and process ids. They are checked where the values come in (the
//! CLI's `run --id` / `--business-key`, the runtime's instance start and
//! deploy), so stored data and everything that prints it stays bounded.
//!
//! | value | limit (UTF-8 bytes) |
//! |---|---|
//! | instance id | [`MAX_INSTANCE_ID_BYTES`] = 1024 |
//! | business key | [`MAX_BUSINESS_KEY_BYTES`] = 1024 |
//! | process id (BPMN `process/@id`) | [`MAX_PROCESS_ID_BYTES`] = 255 |
//!
//! A child instance started by a call activity gets its parent's id plus a
//! short suffix (`/run/call/token`), so child ids may exceed the instance-id
//! limit by that suffix; they are made by the runtime, not typed in.

/// The longest instance id accepted, in UTF-8 bytes.
pub const MAX_INSTANCE_ID_BYTES: usize = 1024;
/// The longest business key accepted, in UTF-8 bytes.
pub const MAX_BUSINESS_KEY_BYTES: usize = 1024;
/// The longest process id accepted for deployment, in UTF-8 bytes.
pub const MAX_PROCESS_ID_BYTES: usize = 255;

/// A value over its limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The value is longer than allowed.
    #[error("the {what} is {len} bytes long; at most {max} bytes are allowed")]
    TooLong {
        /// Which value ("instance id", "business key", "process id").
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The value is empty where something is required.
    #[error("the {what} is empty")]
    Empty {
        /// Which value.
        what: &'static str,
    },
}

fn check(what: &'static str, value: &str, max: usize) -> Result<(), LimitError> {
    if value.is_empty() {
        return Err(LimitError::Empty { what });
    }
    if value.len() > max {
        return Err(LimitError::TooLong {
            what,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

/// Checks a user-chosen instance id: not empty, at most
/// [`MAX_INSTANCE_ID_BYTES`].
pub fn check_instance_id(id: &str) -> Result<(), LimitError> {
    check("instance id", id, MAX_INSTANCE_ID_BYTES)
}

/// Checks a business key: not empty, at most [`MAX_BUSINESS_KEY_BYTES`].
pub fn check_business_key(key: &str) -> Result<(), LimitError> {
    check("business key", key, MAX_BUSINESS_KEY_BYTES)
}

/// Checks a process id before deployment: at most [`MAX_PROCESS_ID_BYTES`].
pub fn check_process_id(id: &str) -> Result<(), LimitError> {
    check("process id", id, MAX_PROCESS_ID_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_bytes_and_name_the_value() {
        assert_eq!(check_instance_id(&"a".repeat(1024)), Ok(()));
        let long = check_instance_id(&"a".repeat(1025));
        assert_eq!(
            long,
            Err(LimitError::TooLong {
                what: "instance id",
                len: 1025,
                max: 1024
            })
        );
        let msg = long.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            msg,
            "the instance id is 1025 bytes long; at most 1024 bytes are allowed"
        );
        // 512 two-byte characters are 1024 bytes; one more is over.
        assert_eq!(check_business_key(&"é".repeat(512)), Ok(()));
        assert!(check_business_key(&"é".repeat(513)).is_err());
        assert_eq!(check_process_id(&"p".repeat(255)), Ok(()));
        assert!(check_process_id(&"p".repeat(256)).is_err());
        assert_eq!(
            check_instance_id(""),
            Err(LimitError::Empty {
                what: "instance id"
            })
        );
    }
}
