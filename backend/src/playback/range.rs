//! RFC 9110 byte ranges for one representation of known length.

/// A satisfiable range, `start..=end` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }
    pub fn is_empty(&self) -> bool {
        false
    }
    pub fn content_range(&self, total: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.end, total)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum RangeError {
    /// Syntactically invalid: the header is ignored and the whole body served.
    Malformed,
    /// Valid but outside the representation: 416.
    Unsatisfiable,
}

/// Parses a `Range` header. Only the first range of a multi-range request is honoured
/// (players never ask for several); that is allowed by RFC 9110 §14.2.
pub fn parse_range(header: &str, total: u64) -> Result<ByteRange, RangeError> {
    let spec = header
        .trim()
        .strip_prefix("bytes=")
        .ok_or(RangeError::Malformed)?;
    let first = spec.split(',').next().ok_or(RangeError::Malformed)?.trim();
    let (a, b) = first.split_once('-').ok_or(RangeError::Malformed)?;
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().map_err(|_| RangeError::Malformed);
    if a.is_empty() {
        // Suffix range: the last `n` bytes.
        let n = num(b)?;
        if n == 0 || total == 0 {
            return Err(RangeError::Unsatisfiable);
        }
        let n = n.min(total);
        return Ok(ByteRange {
            start: total - n,
            end: total - 1,
        });
    }
    let start = num(a)?;
    let end = if b.is_empty() { u64::MAX } else { num(b)? };
    if end < start {
        return Err(RangeError::Malformed);
    }
    if start >= total {
        return Err(RangeError::Unsatisfiable);
    }
    Ok(ByteRange {
        start,
        end: end.min(total - 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_byte() {
        assert_eq!(
            parse_range("bytes=0-0", 100),
            Ok(ByteRange { start: 0, end: 0 })
        );
    }
    #[test]
    fn last_byte() {
        assert_eq!(
            parse_range("bytes=99-99", 100),
            Ok(ByteRange { start: 99, end: 99 })
        );
        assert_eq!(
            parse_range("bytes=99-", 100),
            Ok(ByteRange { start: 99, end: 99 })
        );
    }
    #[test]
    fn open_ended() {
        assert_eq!(
            parse_range("bytes=10-", 100),
            Ok(ByteRange { start: 10, end: 99 })
        );
    }
    #[test]
    fn end_past_length_is_clamped() {
        assert_eq!(
            parse_range("bytes=90-500", 100),
            Ok(ByteRange { start: 90, end: 99 })
        );
    }
    #[test]
    fn suffix() {
        assert_eq!(
            parse_range("bytes=-10", 100),
            Ok(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            parse_range("bytes=-1000", 100),
            Ok(ByteRange { start: 0, end: 99 })
        );
        assert_eq!(parse_range("bytes=-0", 100), Err(RangeError::Unsatisfiable));
    }
    #[test]
    fn beyond_the_end() {
        assert_eq!(
            parse_range("bytes=100-", 100),
            Err(RangeError::Unsatisfiable)
        );
        assert_eq!(
            parse_range("bytes=100-200", 100),
            Err(RangeError::Unsatisfiable)
        );
    }
    #[test]
    fn malformed() {
        assert_eq!(parse_range("items=0-1", 100), Err(RangeError::Malformed));
        assert_eq!(parse_range("bytes=5-1", 100), Err(RangeError::Malformed));
        assert_eq!(parse_range("bytes=a-b", 100), Err(RangeError::Malformed));
    }
    #[test]
    fn multiple_ranges_take_the_first() {
        assert_eq!(
            parse_range("bytes=0-9, 20-29", 100),
            Ok(ByteRange { start: 0, end: 9 })
        );
    }
    #[test]
    fn content_range_header() {
        assert_eq!(
            ByteRange { start: 0, end: 9 }.content_range(100),
            "bytes 0-9/100"
        );
    }
}
