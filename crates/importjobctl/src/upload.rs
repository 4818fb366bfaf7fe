//! UploadUserImportCsv: a CSV file streamed to the service in chunks, never
//! read whole, after a first message naming the job and the file's length.

use std::path::{Path, PathBuf};

use tokio::{fs::File, io::AsyncReadExt, sync::mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::{
    api::{
        UploadUserImportCsvRequest, UploadUserImportCsvResponse,
        import_job_service_client::ImportJobServiceClient,
    },
    call::{Calls, CommandError},
    progress::Progress,
};

/// The bytes of the file each message after the first carries.
pub const CHUNK_BYTES: u64 = 64 * 1024;

/// A CSV file opened, and its length then.
pub struct CsvFile {
    path: PathBuf,
    file: File,
    length: u64,
}

impl CsvFile {
    /// Opens the file, before anything is called: a file that cannot be
    /// read, or an empty one, is a mistake on the command line.
    pub async fn open(path: &Path) -> Result<Self, CommandError> {
        let bad =
            |why: String| CommandError::Input(format!("--csv-file {}: {why}", path.display()));
        let file = File::open(path).await.map_err(|e| bad(e.to_string()))?;
        let metadata = file.metadata().await.map_err(|e| bad(e.to_string()))?;
        if !metadata.is_file() {
            return Err(bad("not a file".to_owned()));
        }
        if metadata.len() == 0 {
            return Err(bad("the file is empty".to_owned()));
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            length: metadata.len(),
        })
    }

    /// The file's name, without its folder.
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        )
    }
}

/// The job to upload to.
pub struct Target<'a> {
    pub user_pool_id: &'a str,
    pub job_id: &'a str,
    pub validate_only: bool,
}

/// Why reading the file failed. It holds the stream's sender, so that the
/// call is cancelled (and the service stores nothing) rather than ended
/// short as if the file were whole.
struct ReadFailed {
    message: String,
    _open: mpsc::Sender<UploadUserImportCsvRequest>,
}

/// Uploads `file` to the job (or has it checked only), with its bytes
/// counted on `progress` as they go.
pub async fn upload(
    client: &mut ImportJobServiceClient<Channel>,
    calls: &Calls,
    target: &Target<'_>,
    file: CsvFile,
    progress: &Progress,
) -> Result<UploadUserImportCsvResponse, CommandError> {
    progress.upload(&file.name(), file.length);
    let (sender, receiver) = mpsc::channel(1);
    let first = UploadUserImportCsvRequest {
        user_pool_id: target.user_pool_id.to_owned(),
        job_id: target.job_id.to_owned(),
        content_length: file.length,
        validate_only: target.validate_only,
        chunk: Vec::new(),
    };
    sender.send(first).await.expect("the receiver is held here");
    let mut reader = tokio::spawn(send_chunks(file, sender, progress.clone()));
    let mut call =
        Box::pin(client.upload_user_import_csv(calls.long_request(ReceiverStream::new(receiver))));
    let answer = tokio::select! {
        answer = &mut call => {
            reader.abort();
            answer
        }
        read = &mut reader => match read {
            Ok(Ok(())) => call.await,
            Ok(Err(failed)) => {
                let message = failed.message.clone();
                drop(call);
                drop(failed);
                return Err(CommandError::Transport(message));
            }
            Err(error) => return Err(CommandError::Transport(format!("cannot read the CSV file: {error}"))),
        },
    };
    answer
        .map(tonic::Response::into_inner)
        .map_err(|status| calls.failure(&status))
}

/// Sends the file's bytes, as many as it had when opened, in chunks of
/// [`CHUNK_BYTES`].
async fn send_chunks(
    mut file: CsvFile,
    sender: mpsc::Sender<UploadUserImportCsvRequest>,
    progress: Progress,
) -> Result<(), ReadFailed> {
    let mut left = file.length;
    let failed = |why: String, sender| ReadFailed {
        message: format!("--csv-file {}: {why}", file.path.display()),
        _open: sender,
    };
    while left > 0 {
        let mut chunk = vec![0; CHUNK_BYTES.min(left) as usize];
        if let Err(error) = file.file.read_exact(&mut chunk).await {
            let why = match error.kind() {
                std::io::ErrorKind::UnexpectedEof => "the file shrank while it was sent".to_owned(),
                _ => error.to_string(),
            };
            return Err(failed(why, sender));
        }
        let length = chunk.len() as u64;
        let message = UploadUserImportCsvRequest {
            chunk,
            ..Default::default()
        };
        if sender.send(message).await.is_err() {
            // The call ended: its answer says why.
            return Ok(());
        }
        left -= length;
        progress.sent(length);
    }
    match file.file.read(&mut [0]).await {
        Ok(0) => Ok(()),
        Ok(_) => Err(failed("the file grew while it was sent".to_owned(), sender)),
        Err(error) => Err(failed(error.to_string(), sender)),
    }
}
