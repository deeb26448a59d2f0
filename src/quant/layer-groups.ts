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

/** The first numbered module of a node name: the path up to it (block), and the name with its number as `*` (role). */
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
 * their first member. When no two names share a numbered block, every layer
 * is its own group and `note` says so.
 */
export function groupLayers(layers: readonly string[], by: GroupBy): Grouping {
  if (by === 'layer') return { by, groups: layers.map((l) => ({ name: l, layers: [l] })), note: null };
  const keys = layers.map((l) => blockOf(l));
  // A numbered module holding one layer each (torch's Sequential: /net/net.0/Gemm, /net/net.2/Gemm) is no block.
  const perBlock = new Map<string, number>();
  for (const k of keys) if (k) perBlock.set(k.block, (perBlock.get(k.block) ?? 0) + 1);
  if (![...perBlock.values()].some((n) => n > 1)) {
    return {
      by: 'layer',
      groups: layers.map((l) => ({ name: l, layers: [l] })),
      note: `--group-by ${by}: no layer names share a numbered block (such as /encoder/layer.3/...), so each layer is its own group`,
    };
  }
  const groups = new Map<string, string[]>();
  layers.forEach((l, i) => {
    const k = keys[i] ? keys[i]![by] : l;
    groups.set(k, [...(groups.get(k) ?? []), l]);
  });
  return { by, groups: [...groups].map(([name, members]) => ({ name, layers: members })), note: null };
}
