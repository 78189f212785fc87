import type { Migration } from 'kysely/migration';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_ingest.js';
import * as m0003 from './0003_text.js';
import * as m0004 from './0004_models.js';
import * as m0005 from './0005_evaluation.js';
import * as m0006 from './0006_pipeline.js';
import * as m0007 from './0007_posts_source_check.js';
import * as m0008 from './0008_reader_access.js';
import * as m0009 from './0009_model_comparisons.js';
import * as m0010 from './0010_task_relations.js';
import * as m0011 from './0011_calibration_subgroups.js';
import * as m0012 from './0012_task_features.js';
import * as m0013 from './0013_post_filters.js';

/**
 * Every migration, in order. Names are zero-padded so that their order is the order of the names.
 * A new stage adds its file here; a migration is never edited once released.
 */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_ingest': m0002,
  '0003_text': m0003,
  '0004_models': m0004,
  '0005_evaluation': m0005,
  '0006_pipeline': m0006,
  '0007_posts_source_check': m0007,
  '0008_reader_access': m0008,
  '0009_model_comparisons': m0009,
  '0010_task_relations': m0010,
  '0011_calibration_subgroups': m0011,
  '0012_task_features': m0012,
  '0013_post_filters': m0013,
};
