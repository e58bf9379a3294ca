/**
 * Built-in actions beyond `cleanup` (fix shapes, merge models, ...). Importing
 * this module registers them with the action registry of src/rewrite/actions.ts.
 */
import { findAction, registerAction } from '../rewrite/actions';
import { fixShapeAction } from './fix-shape';
import { foldShapesAction } from './fold-shapes';
import { freezeInputsAction } from './freeze-inputs';
import { inlineFunctionsAction } from './inline-functions';
import { keepFp16CompressionAction } from './keep-fp16-compression';
import { mergeModelsAction } from './merge-models';

export { fixShapeAction, FixShapeError } from './fix-shape';
export { foldShapesAction } from './fold-shapes';
export { freezeInputsAction, FreezeInputsError } from './freeze-inputs';
export { inlineFunctionsAction, InlineFunctionsError } from './inline-functions';
export { keepFp16CompressionAction } from './keep-fp16-compression';
export { mergeModelsAction, MergeModelsError } from './merge-models';

// Idempotent: jest and the CLI may load this module through several paths.
for (const action of [fixShapeAction, mergeModelsAction, keepFp16CompressionAction, inlineFunctionsAction, freezeInputsAction, foldShapesAction]) if (!findAction(action.name)) registerAction(action);
