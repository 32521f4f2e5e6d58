/**
 * Reads values out of etcd's Prometheus text exposition. Only what the lab needs: a sample's
 * value by metric name and (optional) exact label set, summed over matching samples.
 */
export function metricValue(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const sampleLabels = parseLabels(match[3] ?? '');
    if (Object.entries(labels).some(([key, value]) => sampleLabels[key] !== value)) continue;
    sum += Number(match[4]);
    found = true;
  }
  return found ? sum : NaN;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    if (match[1] !== undefined) labels[match[1]] = match[2] ?? '';
  }
  return labels;
}
