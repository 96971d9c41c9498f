//! The VLAN list syntax of `allowed_vlans`: `"1-100,200"`.

use switch_core::bridge::VlanSet;

/// Parses comma-separated VLAN ids and inclusive `lo-hi` ranges, with
/// optional spaces around items. Overlaps and repeats are fine; empty
/// items, ids outside 1..=4094 and reversed ranges are not, and neither is
/// a list with no members.
///
/// The error is a reason to show after the list, e.g.
/// `range 10-5 is reversed (write 5-10)`.
pub fn parse_vlan_list(text: &str) -> Result<VlanSet, String> {
    let mut set = VlanSet::new();
    if text.trim().is_empty() {
        return Err("the list is empty (omit allowed_vlans to carry every VLAN)".to_string());
    }
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err("empty item between commas".to_string());
        }
        match item.split_once('-') {
            Some((lo, hi)) => {
                let lo = vid(lo.trim(), item)?;
                let hi = vid(hi.trim(), item)?;
                if lo > hi {
                    return Err(format!("range {lo}-{hi} is reversed (write {hi}-{lo})"));
                }
                set.insert_range(lo, hi);
            }
            None => set.insert(vid(item, item)?),
        }
    }
    Ok(set)
}

fn vid(s: &str, item: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{item:?} is not a VLAN id or a range like 10-20"));
    }
    match s.parse::<u32>() {
        Ok(v) if (1..=4094).contains(&v) => Ok(v as u16),
        _ => Err(format!("VLAN {s} is outside 1..=4094")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_singles() {
        let s = parse_vlan_list("1-100,200").unwrap();
        assert_eq!(s.len(), 101);
        assert!(s.contains(1) && s.contains(100) && s.contains(200) && !s.contains(101));
        let s = parse_vlan_list(" 10 , 5-7,6-8, 10 ").unwrap();
        assert_eq!(s.to_ranges_string(), "5-8,10");
        assert_eq!(parse_vlan_list("1-4094").unwrap().len(), 4094);
        assert_eq!(parse_vlan_list("7-7").unwrap().to_ranges_string(), "7");
    }

    #[test]
    fn rejects() {
        let cases = [
            ("10-5", "reversed"),
            ("0", "VLAN 0 is outside"),
            ("4095", "VLAN 4095 is outside"),
            ("1-4095", "VLAN 4095 is outside"),
            ("1,,2", "empty item"),
            ("", "empty"),
            ("ten", "\"ten\" is not a VLAN id"),
            ("1-2-3", "is not a VLAN id"),
            ("-5", "is not a VLAN id"),
            ("+5", "is not a VLAN id"),
            ("99999999999", "outside"),
        ];
        for (text, want) in cases {
            let err = parse_vlan_list(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
