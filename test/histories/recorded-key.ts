/**
 * The payload key the recorded histories are sealed with. Published on purpose: the histories are of
 * made-up customers, and a fixture sealed with a key nobody keeps could never be replayed again. Not
 * for any deployment: a deployment's keys come from its own PAYLOAD_KEYS.
 */
export const RECORDED_HISTORIES_KEY = 'recorded-histories:1AMzzeyPkKCWhgLj1/5szB1tIWZbus0z1p/ACkLswhQ=';
