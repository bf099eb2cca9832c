//! Replicas per spread group: `replicas` split by the groups' weights with
//! the largest-remainder method, so the counts always add up to `replicas`
//! and ties go to the earlier group.

/// How many of `replicas` each group gets, for groups weighted `weights`.
pub fn replicas_per_group(replicas: u32, weights: &[u32]) -> Vec<u32> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let replicas64 = u64::from(replicas);
    let mut counts: Vec<u32> = weights
        .iter()
        .map(|w| u32::try_from(replicas64 * u64::from(*w) / total).unwrap_or(u32::MAX))
        .collect();
    let mut left = replicas.saturating_sub(counts.iter().sum());
    // Remainders, largest first; ties to the earlier group.
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(replicas64 * u64::from(weights[i]) % total));
    for i in order {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}
