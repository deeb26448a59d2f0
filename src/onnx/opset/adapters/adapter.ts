// An op adapter rewrites one node from the form of the op's previous version
// to the form of the version it is registered at (ONNX's since_version).
// It returns the nodes that replace it, in order, or why it cannot.
import type { onnx } from '../../proto/onnx.js';
import type { Node } from '../../graph.js';
import type { UpgradeContext } from '../context.js';

export type Adapter = (node: Node, ctx: UpgradeContext) => onnx.NodeProto[] | string;
