import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whatever the current directory is. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Tools the project installs for itself (ignored by git). */
export const toolsDir = process.env.THROUGHLINE_TOOLS_DIR ?? path.join(projectRoot, '.tools');

/** State of the embedded stack: Temporal's SQLite file, FerretDB's PostgreSQL cluster, logs (ignored by git). */
export const dataDir = process.env.THROUGHLINE_DATA_DIR ?? path.join(projectRoot, '.data');
