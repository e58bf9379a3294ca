/**
 * Bounds on what an expression or a replacement may build. A recipe's values
 * are never this large; a typo (`range(1e12)`) or a count taken from a model's
 * constant can be, and must end in an error naming the limit, not in a
 * process out of memory.
 */

/** Elements of one tensor an expression makes (full(), zeros(), broadcasting, concat). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** Items of one list (range(), tolist(), `+` of lists) and iterations of a `for`/`fold`. */
export const MAX_LIST_ITEMS = 1_000_000;

/** Characters of one string (`+` of strings, str()). */
export const MAX_STRING_LENGTH = 1 << 24;
