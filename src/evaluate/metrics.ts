/**
 * Area under the ROC curve of `scores` for binary `labels` (1 positive, 0 negative; NaN and other
 * values are ignored), computed as the Mann-Whitney U statistic with average ranks for tied scores
 * (Hanley & McNeil, Radiology 1982). Returns null when the evaluated units hold only one class,
 * never 0.5 or NaN.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 0 || labels[i] === 1) idx.push(i);
  idx.sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSumPositives = 0;
  for (let start = 0; start < idx.length; ) {
    let end = start + 1;
    while (end < idx.length && scores[idx[end]!] === scores[idx[start]!]) end++;
    const averageRank = (start + 1 + end) / 2; // ranks are 1-based: start+1 .. end
    for (let k = start; k < end; k++) {
      if (labels[idx[k]!] === 1) {
        positives++;
        rankSumPositives += averageRank;
      }
    }
    start = end;
  }
  const negatives = idx.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}
