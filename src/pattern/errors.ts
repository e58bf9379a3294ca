import { TextSpanError } from '../errors';

/** An error in the text of a pattern or a replacement, found while parsing or compiling it. */
export class PatternSyntaxError extends TextSpanError {}
