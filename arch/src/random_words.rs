//! What the random number instructions share (x86_64 RDRAND, aarch64 RNDR):
//! each gives 64 bits at a time, or nothing when its entropy source is
//! exhausted; a buffer is filled with as many as it takes.
#![forbid(unsafe_code)]

/// Fills `buffer` from `next`, eight little-endian bytes a call (the last
/// word cut to what is left); `false` as soon as `next` gives nothing.
pub fn fill_from_words(buffer: &mut [u8], mut next: impl FnMut() -> Option<u64>) -> bool {
    for chunk in buffer.chunks_mut(8) {
        let Some(value) = next() else { return false };
        chunk.copy_from_slice(&value.to_le_bytes()[..chunk.len()]);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_fill_the_buffer_little_endian_and_the_last_one_is_cut() {
        let mut words = [0x0807_0605_0403_0201u64, 0x100f_0e0d_0c0b_0a09].into_iter();
        let mut buffer = [0u8; 11];
        assert!(fill_from_words(&mut buffer, || words.next()));
        assert_eq!(buffer, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    }

    #[test]
    fn a_failing_source_fails_the_fill() {
        let mut calls = 0;
        let mut buffer = [0u8; 16];
        assert!(!fill_from_words(&mut buffer, || {
            calls += 1;
            (calls == 1).then_some(7)
        }));
        assert_eq!(calls, 2);
    }
}
