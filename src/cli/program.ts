import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerDbCommands } from './commands/db.js';
import { registerFixturesCommand } from './commands/fixtures.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerModelCommands } from './commands/model.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerReportCommand } from './commands/report.js';
import { registerRetrainCommand } from './commands/retrain.js';
import { registerRunCommand } from './commands/run.js';
import { registerSqlCommand } from './commands/sql.js';
import { registerTokenizeCommand } from './commands/tokenize.js';
import { registerTrainCommand } from './commands/train.js';

/**
 * Build the `mhmtl` command tree. Each stage registers its commands here; commands stay thin:
 * parse options, call the stage, print.
 */
export function buildProgram(): Command {
  const program = new Command('mhmtl')
    .description(
      'Multi-task prediction of mental-health conditions from anonymized social-media posts (Benton et al., EACL 2017)',
    )
    .version(VERSION, '-V, --version')
    .option('--data-dir <dir>', 'embedded database directory (env MHMTL_DATA_DIR; default ./mhmtl-data)')
    .option(
      '--database-url <url>',
      'PostgreSQL server, postgres://... (env DATABASE_URL); beats the data dir',
    )
    .option('-v, --verbose', 'print stack traces and debug detail');

  registerDbCommands(program);
  registerSqlCommand(program);
  registerIngestCommand(program);
  registerFixturesCommand(program);
  registerTokenizeCommand(program);
  registerModelCommands(program);
  registerReportCommand(program);
  registerRunCommand(program);
  registerRetrainCommand(program);
  registerTrainCommand(program);
  registerPredictCommand(program);
  for (const cmd of [program, ...allCommands(program)]) {
    cmd.exitOverride().showHelpAfterError(`usage: ${commandPath(cmd)} ${cmd.usage()}  (see --help)`);
  }
  return program;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function* allCommands(cmd: Command): Iterable<Command> {
  for (const sub of cmd.commands) {
    yield sub;
    yield* allCommands(sub);
  }
}
