// How to read data that is not arrays, for every command that takes data:
// flags of those commands, keys of the config's `data` section.
import { z } from 'zod';
import { positiveInt, positiveIntSchema, text, type OptionTable } from '../options.js';

export const DATA_SOURCE_OPTIONS = {
  preprocess: {
    flags: '--preprocess <file>',
    help: 'image folders: the preprocessing (JSON: channels, resize, centerCrop, interpolation, scale, mean, std, layout)',
    parse: text,
    // A file, or in a config the spec itself.
    schema: z.union([z.string().min(1, 'expected a file path'), z.record(z.string(), z.unknown())]),
  },
  tokenizer: {
    flags: '--tokenizer <file>', help: 'text files (.txt, .jsonl): a Hugging Face tokenizer.json', parse: text, schema: z.string().min(1, 'expected a file path'),
  },
  maxLength: {
    flags: '--max-length <n>', help: 'text files: pad and truncate every example to N tokens (default: as the tokenizer file says)',
    parse: positiveInt, schema: positiveIntSchema,
  },
} satisfies OptionTable;
