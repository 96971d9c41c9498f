//! The internet checksum (RFC 1071) and the pseudo-header sums UDP and TCP
//! add to it over IPv4 (RFC 768) and IPv6 (RFC 8200 section 8.1).
//!
//! The checksum is the ones' complement of the ones' complement sum of the
//! data taken as big-endian 16-bit words. The functions here keep the two
//! halves apart so a sum can be built incrementally:
//!
//! ```
//! use switch_core::wire::checksum;
//! let header = [0x45u8, 0x00, 0x00, 0x14];
//! let rest = [0x00u8, 0x00, 0x40, 0x00];
//! // Summing in two pieces gives the same result as summing in one,
//! // as long as every piece but the last has an even length.
//! let a = checksum::combine(checksum::sum(&header), checksum::sum(&rest));
//! let whole = [header, rest].concat();
//! assert_eq!(checksum::finish(a), checksum::checksum(&whole));
//! ```
//!
//! Partial sums are `u32` values that are always folded back to at most
//! `0xffff`, so any number of them can be combined without overflow.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Folds a 64-bit accumulator to 16 bits with end-around carry.
///
/// Two rounds are not always enough for a full `u64`, so this loops; it runs
/// at most four times because each round shrinks the value by 16 bits.
#[inline]
fn fold64(mut acc: u64) -> u32 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u32
}

/// The ones' complement sum of `data` as big-endian 16-bit words, folded to
/// 16 bits. A trailing odd byte is padded with a zero byte, as RFC 1071 says.
///
/// To sum a message in pieces, every piece except the last must have an even
/// length, otherwise the byte pairing shifts; combine pieces with [`combine`].
pub fn sum(data: &[u8]) -> u32 {
    // Adding 32-bit words into a 64-bit accumulator and folding at the end is
    // equal to adding 16-bit words (ones' complement addition is associative
    // and commutative, and a carry out of bit 15 lands in bit 16 either way),
    // and it halves the number of additions.
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    fold64(acc)
}

/// [`sum`] of an array whose length is a multiple of 4, unrolled by the
/// compiler (a 20-byte IPv4 header is five additions, no loop).
#[inline(always)]
pub fn sum_array<const N: usize>(data: &[u8; N]) -> u32 {
    const { assert!(N.is_multiple_of(4)) };
    let mut acc: u64 = 0;
    for w in data.chunks_exact(4) {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    fold64(acc)
}

/// Adds two partial sums (ones' complement addition).
#[inline]
pub fn combine(a: u32, b: u32) -> u32 {
    fold64(u64::from(a) + u64::from(b))
}

/// Folds a partial sum to 16 bits, without complementing it.
#[inline]
pub fn fold(acc: u32) -> u16 {
    fold64(u64::from(acc)) as u16
}

/// Turns a partial sum into the value to store in a checksum field: the
/// ones' complement of the folded sum.
#[inline]
pub fn finish(acc: u32) -> u16 {
    !fold(acc)
}

/// The internet checksum of `data` in one call: `finish(sum(data))`.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(data))
}

/// True when a sum taken over data that includes its own checksum field
/// verifies: the folded sum of a correct message is `0xffff` (negative zero).
#[inline]
pub fn verifies(acc: u32) -> bool {
    fold(acc) == 0xffff
}

/// The partial sum of the IPv4 pseudo header UDP and TCP checksums cover:
/// source, destination, zero, protocol, and the upper-layer length.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let s = src.octets();
    let d = dst.octets();
    let acc = u64::from(u16::from_be_bytes([s[0], s[1]]))
        + u64::from(u16::from_be_bytes([s[2], s[3]]))
        + u64::from(u16::from_be_bytes([d[0], d[1]]))
        + u64::from(u16::from_be_bytes([d[2], d[3]]))
        + u64::from(protocol)
        + u64::from(length);
    fold64(acc)
}

/// The partial sum of the IPv6 pseudo header (RFC 8200 section 8.1): source,
/// destination, 32-bit upper-layer length, three zero bytes, next header.
///
/// `length` is 32 bits because IPv6 jumbograms may exceed 65535 bytes.
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u32 {
    let acc = u64::from(sum(&src.octets()))
        + u64::from(sum(&dst.octets()))
        + u64::from(length >> 16)
        + u64::from(length & 0xffff)
        + u64::from(next_header);
    fold64(acc)
}

/// Updates a stored checksum after one 16-bit word of the covered data
/// changed from `old` to `new`, without summing the data again
/// (RFC 1624 equation 3: `HC' = ~(~HC + ~m + m')`).
///
/// Used to patch headers in place, e.g. a TTL decrement or a rewritten
/// length, where a full recomputation would touch the whole header again.
#[inline]
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    let acc = u64::from(!checksum) + u64::from(!old) + u64::from(new);
    !(fold64(acc) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 1071 section 3.
    const RFC1071: [u8; 8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];

    /// An IPv4 header (192.168.0.1 -> 192.168.0.199, UDP, TTL 64, DF) whose
    /// checksum 0xb861 was worked out by hand:
    /// 4500+0073+0000+4000+4011+c0a8+0001+c0a8+00c7 = 0x2479c,
    /// folded 0x479c + 0x2 = 0x479e, complemented 0xb861.
    const IPV4_HEADER: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8,
        0x00, 0xc7,
    ];

    #[test]
    fn rfc1071_example() {
        assert_eq!(fold(sum(&RFC1071)), 0xddf2);
        assert_eq!(checksum(&RFC1071), !0xddf2);
    }

    #[test]
    fn ipv4_header_by_hand() {
        assert!(verifies(sum(&IPV4_HEADER)));
        let mut h = IPV4_HEADER;
        h[10] = 0;
        h[11] = 0;
        assert_eq!(checksum(&h), 0xb861);
    }

    #[test]
    fn the_unrolled_sum_equals_the_loop() {
        assert!(verifies(sum_array(&IPV4_HEADER)));
        let data: Vec<u8> = (0..=255u8).cycle().skip(7).take(40).collect();
        for start in 0..20 {
            let fixed: &[u8; 20] = data[start..start + 20].try_into().unwrap();
            assert_eq!(sum_array(fixed), sum(fixed), "bytes {start}..{}", start + 20);
        }
        assert_eq!(sum_array(&[0xffu8; 40]), sum(&[0xffu8; 40]));
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0xab]), 0xab00);
        assert_eq!(sum(&[0x01, 0x02, 0x03]), 0x0102 + 0x0300);
        assert_eq!(sum(&[]), 0);
    }

    #[test]
    fn incremental_equals_whole() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1001).collect();
        for split in (0..data.len()).step_by(2) {
            let (a, b) = data.split_at(split);
            assert_eq!(combine(sum(a), sum(b)), sum(&data), "split {split}");
        }
    }

    #[test]
    fn large_input_does_not_overflow() {
        let data = vec![0xffu8; 1 << 20];
        assert_eq!(fold(sum(&data)), 0xffff);
        assert_eq!(combine(0xffff, 0xffff), 0xffff);
    }

    #[test]
    fn rfc1624_update() {
        let mut h = IPV4_HEADER;
        // Decrement the TTL (word 4 is TTL << 8 | protocol).
        let old = u16::from_be_bytes([h[8], h[9]]);
        h[8] -= 1;
        let new = u16::from_be_bytes([h[8], h[9]]);
        let csum = update(0xb861, old, new);
        h[10..12].copy_from_slice(&csum.to_be_bytes());
        assert!(verifies(sum(&h)));
        h[10] = 0;
        h[11] = 0;
        assert_eq!(checksum(&h), csum);
    }

    #[test]
    fn pseudo_headers() {
        let v4 = pseudo_header_v4(Ipv4Addr::new(192, 168, 0, 1), Ipv4Addr::new(192, 168, 0, 199), 17, 8);
        // c0a8 + 0001 + c0a8 + 00c7 + 0011 + 0008 = 0x18231 -> 0x8232
        assert_eq!(v4, 0x8232);
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        // 2001+0db8+0001 + 2001+0db8+0002 + 0000+0008 + 0011 = 0x5b8e
        assert_eq!(pseudo_header_v6(src, dst, 17, 8), 0x5b8e);
        assert_eq!(pseudo_header_v6(src, dst, 17, 0x1_0000), combine(pseudo_header_v6(src, dst, 17, 0), 1));
    }
}
