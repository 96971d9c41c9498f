//! Interface lookups: name → index validation before anything is touched,
//! and `ethtool -S` counters read through the `SIOCETHTOOL` ioctl.
//!
//! Everything here resolves names in the calling thread's network namespace.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::Error;

/// Longest interface name Linux accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

fn c_name(name: &str) -> Result<CString, Error> {
    if name.is_empty() || name.len() > IFNAME_MAX || name.contains('/') || name.contains(char::is_whitespace) {
        return Err(Error::BadInterfaceName { name: name.to_string() });
    }
    CString::new(name).map_err(|_| Error::BadInterfaceName { name: name.to_string() })
}

/// The index of interface `name`.
pub fn ifindex(name: &str) -> Result<u32, Error> {
    let c = c_name(name)?;
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(Error::NoSuchInterface { name: name.to_string() });
    }
    Ok(idx)
}

/// Checks that every interface in `names` exists, before any of them is
/// touched, and returns their indices in order. The error names the first
/// missing (or malformed) interface.
pub fn validate_interfaces<S: AsRef<str>>(names: &[S]) -> Result<Vec<u32>, Error> {
    names.iter().map(|n| ifindex(n.as_ref())).collect()
}

const SIOCETHTOOL: libc::c_ulong = 0x8946;
const ETHTOOL_GSTRINGS: u32 = 0x1b;
const ETHTOOL_GSTATS: u32 = 0x1d;
const ETHTOOL_GSSET_INFO: u32 = 0x37;
const ETH_SS_STATS: u32 = 1;
const ETH_GSTRING_LEN: usize = 32;

/// `struct ifreq` with the `ifr_data` member of its union.
#[repr(C)]
struct IfreqData {
    name: [libc::c_char; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

fn ethtool_ioctl(sock: &OwnedFd, name: &CString, buf: *mut libc::c_void) -> io::Result<()> {
    let mut ifr = IfreqData { name: [0; libc::IFNAMSIZ], data: buf, _pad: [0; 16] };
    for (d, s) in ifr.name.iter_mut().zip(name.as_bytes()) {
        *d = *s as libc::c_char;
    }
    // SAFETY: `ifr` is a correctly laid out ifreq whose data pointer refers
    // to a command buffer the caller sized for the command it contains.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), SIOCETHTOOL as _, &mut ifr) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Two consecutive C `u32`s as the `u64` that holds them in memory.
fn pack_u32s(a: u32, b: u32) -> u64 {
    let mut x = [0u8; 8];
    x[..4].copy_from_slice(&a.to_ne_bytes());
    x[4..].copy_from_slice(&b.to_ne_bytes());
    u64::from_ne_bytes(x)
}

/// The C `u32` stored in the first four bytes of `w`.
fn first_u32(w: u64) -> u32 {
    let b = w.to_ne_bytes();
    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
}

/// All of a device's `ethtool -S` statistics, as (name, value) pairs.
pub fn ethtool_stats(iface: &str) -> Result<Vec<(String, u64)>, Error> {
    let name = c_name(iface)?;
    let err = |source| Error::Ethtool { iface: iface.to_string(), source };
    // SAFETY: plain socket(2) call; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };

    // struct ethtool_sset_info { u32 cmd, reserved; u64 sset_mask; u32 data[1]; }
    let mut sset = [0u64; 3];
    sset[0] = pack_u32s(ETHTOOL_GSSET_INFO, 0);
    sset[1] = 1 << ETH_SS_STATS;
    ethtool_ioctl(&sock, &name, sset.as_mut_ptr().cast()).map_err(err)?;
    let n = if sset[1] & (1 << ETH_SS_STATS) != 0 { first_u32(sset[2]) as usize } else { 0 };
    if n == 0 {
        return Ok(Vec::new());
    }

    // struct ethtool_gstrings { u32 cmd, string_set, len; u8 data[len * 32]; }
    let mut strings = vec![0u32; 3 + n * ETH_GSTRING_LEN / 4];
    strings[0] = ETHTOOL_GSTRINGS;
    strings[1] = ETH_SS_STATS;
    strings[2] = n as u32;
    ethtool_ioctl(&sock, &name, strings.as_mut_ptr().cast()).map_err(err)?;

    // struct ethtool_stats { u32 cmd, n_stats; u64 data[n]; }
    let mut stats = vec![0u64; 1 + n];
    stats[0] = pack_u32s(ETHTOOL_GSTATS, n as u32);
    ethtool_ioctl(&sock, &name, stats.as_mut_ptr().cast()).map_err(err)?;

    let bytes: Vec<u8> = strings[3..].iter().flat_map(|w| w.to_ne_bytes()).collect();
    Ok(bytes
        .chunks(ETH_GSTRING_LEN)
        .zip(&stats[1..])
        .map(|(s, v)| {
            let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
            (String::from_utf8_lossy(&s[..end]).into_owned(), *v)
        })
        .collect())
}

/// One named `ethtool -S` counter, 0 when the device does not have it.
pub fn ethtool_stat(iface: &str, counter: &str) -> Result<u64, Error> {
    Ok(ethtool_stats(iface)?.into_iter().find(|(k, _)| k == counter).map(|(_, v)| v).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_exists_and_missing_is_named() {
        assert!(ifindex("lo").unwrap() > 0);
        let err = validate_interfaces(&["lo", "xvs-nope0", "xvs-nope1"]).unwrap_err();
        assert!(matches!(&err, Error::NoSuchInterface { name } if name == "xvs-nope0"), "{err}");
        assert!(err.to_string().contains("xvs-nope0"));
    }

    #[test]
    fn malformed_names_are_rejected_before_the_kernel() {
        for bad in ["", "a/b", "sixteen-chars-xx", "with space"] {
            assert!(matches!(ifindex(bad), Err(Error::BadInterfaceName { .. })), "{bad:?}");
        }
    }

    #[test]
    fn ethtool_on_loopback_does_not_fail() {
        // lo has no driver stats; the call must still succeed (empty list)
        // or report a clean OS error, never garbage.
        match ethtool_stats("lo") {
            Ok(v) => assert!(v.iter().all(|(k, _)| !k.is_empty())),
            Err(Error::Ethtool { source, .. }) => assert!(source.raw_os_error().is_some()),
            Err(e) => panic!("{e}"),
        }
    }
}
