//! Finding each `\n` of a buffer in turn, cheaply when lines are short.
//!
//! A `memchr` call per line costs about 40 instructions before it looks at a
//! byte: for a CSV row of two numbers (about 15 bytes) that is a tenth of the
//! cost of reading the row. Here each 64 bytes are compared once (16 at a time
//! with SSE2 on x86_64, 8 at a time in a `u64` elsewhere), giving a mask of the
//! newlines in them, and each next newline is the mask's lowest bit.

/// The newlines of one buffer, handed out in order (see the module's note).
pub(crate) struct Newlines {
    /// Where the 64 bytes of `mask` start.
    base: usize,
    /// The newlines of `bytes[base..base + 64]` not handed out yet, one bit each.
    mask: u64,
    /// Where the search after the last newline handed out starts: a search from
    /// anywhere else looks at its bytes afresh.
    resume: usize,
}

impl Default for Newlines {
    fn default() -> Self {
        Newlines { base: 0, mask: 0, resume: usize::MAX }
    }
}

impl Newlines {
    /// Forgets what it found: the buffer's bytes have changed.
    pub(crate) fn reset(&mut self) {
        *self = Newlines::default();
    }

    /// The position of the first `\n` in `bytes[from..]`, if there is one.
    /// `bytes` must be the same bytes as at the last call, unless `reset` was
    /// called since.
    #[inline]
    pub(crate) fn next(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        if from != self.resume {
            self.seek(bytes, from);
        }
        while self.mask == 0 {
            self.base += 64;
            if self.base >= bytes.len() {
                self.resume = usize::MAX;
                return None;
            }
            self.mask = mask(&bytes[self.base..]);
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        self.resume = at + 1;
        Some(at)
    }

    /// Starts the search at `from`: the mask of its 64 bytes, without those before it.
    #[inline(never)]
    fn seek(&mut self, bytes: &[u8], from: usize) {
        self.base = from - from % 64;
        self.mask = match bytes.get(self.base..) {
            Some(rest) if !rest.is_empty() => mask(rest) & (u64::MAX << (from - self.base)),
            _ => 0,
        };
    }
}

/// The newlines of the first 64 bytes of `bytes` (or all, if fewer), one bit each.
#[inline]
fn mask(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<64>() {
        Some(block) => mask_of_64(block),
        None => bytes.iter().enumerate().fold(0, |mask, (i, &b)| mask | u64::from(b == b'\n') << i),
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn mask_of_64(block: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let part = |i: usize| {
        // SAFETY: SSE2 is part of x86_64. Bytes `i..i + 16` are in `block` (`i`
        // is at most 48), and an unaligned load may read from any address.
        let newlines = unsafe {
            let bytes = _mm_loadu_si128(block.as_ptr().add(i).cast());
            _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\n' as i8)))
        };
        u64::from(newlines as u16)
    };
    part(0) | part(16) << 16 | part(32) << 32 | part(48) << 48
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn mask_of_64(block: &[u8; 64]) -> u64 {
    mask_of_64_by_words(block)
}

/// The same, eight bytes at a time in a `u64` (for targets other than x86_64).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
fn mask_of_64_by_words(block: &[u8; 64]) -> u64 {
    const LOW_SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut mask = 0;
    for (i, word) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        // Zero where a byte is `\n`; then the top bit of each byte that is zero,
        // exactly: the sum cannot carry from one byte into the next.
        let x = word ^ 0x0a0a_0a0a_0a0a_0a0a;
        let zero = !(((x & LOW_SEVEN) + LOW_SEVEN) | x | LOW_SEVEN);
        // Those eight bits, one per byte, gathered into the top byte.
        let bits = (zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= bits << (8 * i);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded xorshift: the next of `state`'s random numbers.
    fn random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Each newline from each place a search may start, against `memchr`, on
    /// seeded random bytes of every length around the 64-byte steps, with
    /// short and long lines and searches that jump.
    #[test]
    fn finds_each_newline_as_memchr_does() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in (0..200).chain([1000, 4099]) {
            // Out of 64: how often a byte is a newline.
            for density in [0, 3, 32, 64] {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        let r = random(&mut state);
                        if r % 64 < density { b'\n' } else { (r >> 8) as u8 }
                    })
                    .collect();
                let expected = |from: usize| memchr::memchr(b'\n', &bytes[from..]).map(|i| from + i);
                // In order, as a reader of lines goes.
                let mut newlines = Newlines::default();
                let mut from = 0;
                while from <= len {
                    let found = newlines.next(&bytes, from);
                    assert_eq!(found, expected(from), "len {len}, from {from}");
                    match found {
                        Some(at) => from = at + 1,
                        None => break,
                    }
                }
                // From anywhere, in any order.
                for _ in 0..20 {
                    let from = random(&mut state) as usize % (len + 1);
                    assert_eq!(newlines.next(&bytes, from), expected(from), "len {len}, jump to {from}");
                }
            }
        }
    }

    /// The mask of the other targets, against the byte-by-byte one (and on x86_64,
    /// the SSE2 one), on random blocks and every single newline.
    #[test]
    fn the_mask_by_words_is_the_mask_of_each_byte() {
        let by_bytes =
            |block: &[u8; 64]| block.iter().enumerate().fold(0u64, |m, (i, &b)| m | u64::from(b == b'\n') << i);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut blocks: Vec<[u8; 64]> = (0..64)
            .map(|at| {
                let mut block = [b'x'; 64];
                block[at] = b'\n';
                block
            })
            .collect();
        for _ in 0..2000 {
            // Bytes near `\n` (0x0a) and with the top bit set, where a borrow would show.
            blocks.push(std::array::from_fn(|_| match random(&mut state) % 4 {
                0 => b'\n',
                1 => 0x0a ^ (1 << (random(&mut state) % 8)) as u8,
                _ => random(&mut state) as u8,
            }));
        }
        for block in &blocks {
            assert_eq!(mask_of_64_by_words(block), by_bytes(block), "{block:?}");
            assert_eq!(mask_of_64(block), by_bytes(block), "{block:?}");
        }
    }

    #[test]
    fn reset_forgets_the_bytes_before() {
        let mut newlines = Newlines::default();
        assert_eq!(newlines.next(b"ab\ncd\n", 0), Some(2));
        newlines.reset();
        // New bytes: the search from 3 (where the last stopped) is made afresh.
        assert_eq!(newlines.next(b"abcd\nxy\n", 3), Some(4));
        assert_eq!(newlines.next(b"abcd\nxy\n", 5), Some(7));
    }
}
