import { transform } from 'esbuild';
import { badRequest } from '../core/errors.js';

export type FunctionLanguage = 'javascript' | 'typescript';

/**
 * Turns a function's source (JavaScript or TypeScript, an ES module whose default export is the function) into a
 * CommonJS script the sandbox evaluates. Types are stripped by esbuild, not checked; a syntax error names the line.
 */
export async function compileFunction(code: string, language: FunctionLanguage, field = 'code'): Promise<string> {
  try {
    const out = await transform(code, { loader: language === 'typescript' ? 'ts' : 'js', format: 'cjs', target: 'es2020', sourcefile: 'function' });
    return out.code;
  } catch (error) {
    const first = (error as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors?.[0];
    const where = first?.location ? ` (line ${first.location.line}, column ${first.location.column + 1})` : '';
    throw badRequest('syntax_error', `${field}: ${first?.text ?? (error as Error).message}${where}`, field);
  }
}
