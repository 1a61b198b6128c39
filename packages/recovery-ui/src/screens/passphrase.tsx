import { Text } from "ink";
import { useUi } from "../ui.js";
import { Frame } from "../widgets/frame.js";
import { TextInput } from "../widgets/text-input.js";

/** How many passphrases are tried before the disk stays locked. */
export const PASSPHRASE_ATTEMPTS = 3;

/** Asks the passphrase of an encrypted disk, never echoing it; attempt 0, 1, 2. */
export function PassphraseScreen(props: {
  device: string;
  attempt: number;
  onSubmit: (passphrase: string) => void;
  onCancel: () => void;
}) {
  const { t } = useUi();
  return (
    <Frame title={t.passphraseTitle} keys={t.passphraseKeys}>
      <Text>{t.passphrasePrompt(props.device)}</Text>
      {props.attempt > 0 ? (
        <Text bold>{t.passphraseRetry(props.attempt + 1, PASSPHRASE_ATTEMPTS)}</Text>
      ) : null}
      <TextInput key={props.attempt} secret onSubmit={props.onSubmit} onCancel={props.onCancel} />
    </Frame>
  );
}
