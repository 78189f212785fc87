/**
 * The architectures' and weighting methods' options for `--help`. They come from the model code,
 * which loads TensorFlow.js, so they are loaded only when help is asked for (main.ts calls
 * {@link loadModelHelp} before parsing), not for every command.
 */
let text = '';

/** Load the option lists (when the command line asks for help). */
export async function loadModelHelp(): Promise<void> {
  const { modelOptionsHelp } = await import('../pipeline/schema.js');
  text = modelOptionsHelp();
}

/** The loaded option lists, or a pointer to them when not loaded. */
export function modelHelp(): string {
  return text || '\nArchitectures, weighting methods and their options: mhmtl train --help\n';
}
