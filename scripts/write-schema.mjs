// Rewrites schemas/pipeline.schema.json with its generated parts (the architectures' and the task
// weighting methods' options, src/pipeline/schema.ts) after `npm run build`. `npm run schema`.
import { writeFileSync } from 'node:fs';
import { PIPELINE_SCHEMA_FILE, pipelineSchemaText } from '../dist/pipeline/schema.js';

writeFileSync(PIPELINE_SCHEMA_FILE, pipelineSchemaText());
console.log(`wrote ${PIPELINE_SCHEMA_FILE}`);
