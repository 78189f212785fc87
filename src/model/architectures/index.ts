import { UsageError } from '../../errors.js';
import type { Architecture } from './architecture.js';
import { crossStitch } from './cross-stitch.js';
import { deepRelationship } from './deep-relationship.js';
import { fullyAdaptive } from './fully-adaptive.js';
import { hardSharing } from './hard-sharing.js';
import { mmoe } from './mmoe.js';
import { sluice } from './sluice.js';
import { softSharing } from './soft-sharing.js';
import { taskDepth } from './task-depth.js';

export type {
  Architecture,
  ArchitectureContext,
  JsonSchema,
  LabelledUnits,
  Network,
  NetworkSpec,
  TaskRelation,
  WarmStartPlan,
  WarmStartSource,
  WarmStartTarget,
} from './architecture.js';

/** The default architecture (a pipeline's `model.architecture` when absent). */
export const DEFAULT_ARCHITECTURE = 'hard_sharing';

const REGISTRY = new Map<string, Architecture>([
  [hardSharing.name, hardSharing],
  [softSharing.name, softSharing],
  [crossStitch.name, crossStitch],
  [sluice.name, sluice],
  [taskDepth.name, taskDepth],
  [mmoe.name, mmoe],
  [deepRelationship.name, deepRelationship],
  [fullyAdaptive.name, fullyAdaptive],
]);

/** Names of the registered architectures. */
export function architectureNames(): string[] {
  return [...REGISTRY.keys()];
}

/** The architecture registered under `name`. @throws UsageError for an unknown name. */
export function getArchitecture(name: string): Architecture {
  const a = REGISTRY.get(name);
  if (!a) throw new UsageError(`unknown architecture '${name}' (known: ${architectureNames().join(', ')})`);
  return a;
}
