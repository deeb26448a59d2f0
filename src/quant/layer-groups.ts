// Layer groups: the unit of sensitivity and of float fallback on models with
// many layers. Transformer exporters name nodes by module path
// (torch.onnx.export of Hugging Face BERT: /bert/encoder/layer.3/attention/output/dense/MatMul),
// so the repeated block and each layer's role in it can be read off the name:
//   block: the path up to the block index   -> /bert/encoder/layer.3
//   role:  the path with the index replaced  -> /bert/encoder/layer.*/attention/output/dense/MatMul
// A layer outside any block (pooler, classifier) is a group of its own.

export const GROUP_BY = ['layer', 'block', 'role'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface LayerGroup {
  name: string;
  /** Member layers, in the order given. */
  layers: string[];
}

export interface Grouping {
  by: GroupBy;
  groups: LayerGroup[];
  /** Why the grouping asked for was not applied (names without block indices); null when it was. */
  note: string | null;
}

/** A path segment that is a numbered module: `layer.3`, `h_11`, `3` (never the last segment, the op's own name). */
const INDEXED = /^(?:.*[._])?\d+$/;

/** Where the first numbered module of a node name is: [prefix up to and including it, its index's position]. */
function blockOf(name: string): { block: string; role: string } | null {
  const parts = name.split('/');
  for (let i = 0; i < parts.length - 1; i++) {
    if (!INDEXED.test(parts[i])) continue;
    const stem = parts[i].replace(/\d+$/, '');
    return { block: parts.slice(0, i + 1).join('/'), role: [...parts.slice(0, i), `${stem}*`, ...parts.slice(i + 1)].join('/') };
  }
  return null;
}

/**
 * Groups `layers` (names, in graph order) by `by`. Groups keep the order of
 * their first member. When no name has a block index, every layer is its
 * own group and `note` says so.
 */
export function groupLayers(layers: readonly string[], by: GroupBy): Grouping {
  if (by === 'layer') return { by, groups: layers.map((l) => ({ name: l, layers: [l] })), note: null };
  const keys = layers.map((l) => blockOf(l));
  if (!keys.some((k) => k !== null)) {
    return {
      by: 'layer',
      groups: layers.map((l) => ({ name: l, layers: [l] })),
      note: `--group-by ${by}: no layer name has a numbered block (such as /encoder/layer.3/...), so each layer is its own group`,
    };
  }
  const groups = new Map<string, string[]>();
  layers.forEach((l, i) => {
    const k = keys[i] ? keys[i]![by] : l;
    groups.set(k, [...(groups.get(k) ?? []), l]);
  });
  return { by, groups: [...groups].map(([name, members]) => ({ name, layers: members })), note: null };
}
