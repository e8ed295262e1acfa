import { SeededRandom } from '@switchyard/simulator';

/**
 * Request bodies of realistic sizes: real traffic carries 2–50 KB prompts (retrieval context, chat
 * history), not the 30-byte "hi" that makes every gateway look cheap. Each body is a system prompt
 * with retrieved context, a chat history of user and assistant turns, and the new question, made of
 * English-like prose (so the tokenizer sees what it sees in production: about 4 to 5 bytes a token).
 * Deterministic, so every run and every target sends the same bytes.
 */

export const PROMPT_SIZES = { '1k': 1024, '32k': 32 * 1024, '400k': 400 * 1024 } as const;
export type PromptSize = keyof typeof PROMPT_SIZES;
export const PROMPT_SIZE_NAMES = Object.keys(PROMPT_SIZES) as PromptSize[];

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but ' +
  'have an they you were her all she there would their we him been has when who will more no if out so ' +
  'said what up its about into than them can only other new some could time these two may then do first ' +
  'any my now such like our over man me even most made after also did many before must through back years ' +
  'where much your way well down should because each just those people how too little state good very make ' +
  'world still own see men work long get here between both life being under never day same another know ' +
  'while last might us great old year off come since against go came right used take three invoice shipment ' +
  'warehouse customer delivery schedule quarterly revenue forecast contract supplier inventory refund policy ' +
  'account manager region order status tracking number payment terms discount renewal support ticket'
).split(' ');

/** Sentences of English-like prose, `bytes` long (ASCII, so characters are bytes). */
function prose(bytes: number, random: () => number): string {
  let text = '';
  while (text.length < bytes) {
    const length = 6 + Math.floor(random() * 14);
    const words = Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)]);
    if (random() < 0.2) words.splice(2, 0, String(Math.floor(random() * 10_000)));
    const sentence = words.join(' ');
    text += `${sentence[0].toUpperCase()}${sentence.slice(1)}${random() < 0.1 ? '?' : '.'} `;
  }
  return text.slice(0, bytes);
}

export interface PromptMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * About `bytes` of message content: a third retrieved context in the system prompt, the rest a chat
 * history (turns of about 1–2 KB, fewer for a small prompt) ending with the user's question.
 */
export function promptMessages(size: PromptSize): PromptMessage[] {
  const bytes = PROMPT_SIZES[size];
  // Seeded: the same prose on every run.
  const seeded = new SeededRandom(bytes);
  const random = () => seeded.next();
  const system = `You are the support assistant of a logistics company. Answer from the context below.\n\nContext:\n${prose(Math.floor(bytes / 3), random)}`;
  const messages: PromptMessage[] = [{ role: 'system', content: system }];
  let left = bytes - system.length;
  const turn = Math.min(1536, Math.max(128, Math.floor(left / 4)));
  for (let i = 0; left > turn; i++) {
    const content = prose(turn, random);
    messages.push({ role: i % 2 === 0 ? 'user' : 'assistant', content });
    left -= content.length;
  }
  if (messages[messages.length - 1].role === 'user') messages.push({ role: 'assistant', content: prose(64, random) });
  messages.push({ role: 'user', content: prose(Math.max(32, left), random) });
  return messages;
}
